{{/* Chart name, at most 63 characters (a DNS label). */}}
{{- define "rollcall.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name: the release name, suffixed with the chart name unless the release
name already contains it. Workloads append -server, -reconciler and -migrate, so it is cut to
52 characters to leave room for those within 63.
*/}}
{{- define "rollcall.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Chart name and version for the helm.sh/chart label. */}}
{{- define "rollcall.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels every object carries. */}}
{{- define "rollcall.labels" -}}
helm.sh/chart: {{ include "rollcall.chart" . }}
{{ include "rollcall.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: rollcall
{{- end }}

{{/* Labels that identify this release's pods; workloads add app.kubernetes.io/component. */}}
{{- define "rollcall.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rollcall.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The container image, by digest when one is given. */}}
{{- define "rollcall.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/* The Secret holding DATABASE_URL and ROLLCALL_ADMIN_KEY. */}}
{{- define "rollcall.secretName" -}}
{{- default (include "rollcall.fullname" .) .Values.existingSecret }}
{{- end }}

{{/* ROLLCALL_PUBLIC_URL: the configured URL, else the in-cluster Service URL. */}}
{{- define "rollcall.publicUrl" -}}
{{- if .Values.publicUrl }}
{{- .Values.publicUrl | trimSuffix "/" }}
{{- else }}
{{- printf "http://%s.%s.svc:%d" (include "rollcall.fullname" .) .Release.Namespace (int .Values.service.port) }}
{{- end }}
{{- end }}

{{/*
Environment shared by every Rollcall container. Each workload adds the ROLLCALL_ENABLE_* switches
for its role. Numbers go through int64 because Helm reads values as float64, which would print
1000000 as 1e+06.
*/}}
{{- define "rollcall.env" -}}
- name: NODE_ENV
  value: production
- name: PORT
  value: "8080"
- name: HOST
  value: "0.0.0.0"
- name: LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
- name: ROLLCALL_PUBLIC_URL
  value: {{ include "rollcall.publicUrl" . | quote }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "rollcall.secretName" . }}
      key: {{ .Values.existingSecretKeys.databaseUrl }}
- name: ROLLCALL_ADMIN_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "rollcall.secretName" . }}
      key: {{ .Values.existingSecretKeys.adminKey }}
- name: ROLLCALL_ENCRYPTION_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "rollcall.secretName" . }}
      key: {{ .Values.existingSecretKeys.encryptionKey | default "ROLLCALL_ENCRYPTION_KEY" }}
- name: DATABASE_POOL_MAX
  value: {{ .Values.database.poolMax | int64 | quote }}
- name: DATABASE_STATEMENT_TIMEOUT_MS
  value: {{ .Values.database.statementTimeoutMs | int64 | quote }}
- name: ROLLCALL_SCIM_RATE_LIMIT
  value: {{ .Values.scim.rateLimit | int64 | quote }}
- name: ROLLCALL_SHUTDOWN_GRACE_MS
  value: {{ .Values.server.shutdownGraceMs | int64 | quote }}
- name: ROLLCALL_METRICS_ORG_LABEL
  value: {{ .Values.metrics.organizationLabel | quote }}
- name: ROLLCALL_RECONCILE_CRON
  value: {{ .Values.reconciler.schedule | quote }}
- name: ROLLCALL_REQUEST_LOG_RETENTION_DAYS
  value: {{ .Values.retention.requestLogDays | int64 | quote }}
- name: ROLLCALL_EVENT_RETENTION_DAYS
  value: {{ .Values.retention.eventDays | int64 | quote }}
- name: ROLLCALL_DELIVERY_ATTEMPT_RETENTION_DAYS
  value: {{ .Values.retention.deliveryAttemptDays | int64 | quote }}
- name: ROLLCALL_RETENTION_CRON
  value: {{ .Values.retention.schedule | quote }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Pod-level settings shared by every workload: pull secrets, service account, security, placement. */}}
{{- define "rollcall.podSpecCommon" -}}
automountServiceAccountToken: false
{{- with .Values.serviceAccount.name }}
serviceAccountName: {{ . }}
{{- end }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
Pod annotations: the given extra annotations plus a checksum of the chart's Secret, so pods restart
when it changes (an existingSecret is not tracked). Call with (list $root $extraAnnotations).
*/}}
{{- define "rollcall.podAnnotations" -}}
{{- $root := index . 0 }}
{{- $annotations := dict }}
{{- if not $root.Values.existingSecret }}
{{- $_ := set $annotations "checksum/secret" (include (print $root.Template.BasePath "/secret.yaml") $root | sha256sum) }}
{{- end }}
{{- $annotations = merge $annotations (index . 1 | default dict) }}
{{- with $annotations -}}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* The Secret holding REDIS_URL: redis.existingSecret, else the one the chart creates from redis.url. */}}
{{- define "rollcall.redisSecretName" -}}
{{- default (printf "%s-redis" (include "rollcall.fullname" .)) .Values.redis.existingSecret }}
{{- end }}

{{/*
REDIS_URL and the rate limiter's Redis settings, for the workloads that serve SCIM (the server).
Not in the migration Job: it runs before ordinary resources such as the Redis Secret exist, and
does not need Redis.
*/}}
{{- define "rollcall.redisEnv" -}}
{{- if or .Values.redis.url .Values.redis.existingSecret }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "rollcall.redisSecretName" . }}
      key: {{ .Values.redis.existingSecretKey }}
- name: ROLLCALL_RATE_LIMIT_REDIS_FAILURE
  value: {{ .Values.redis.failureMode | quote }}
- name: ROLLCALL_REDIS_COMMAND_TIMEOUT_MS
  value: {{ .Values.redis.commandTimeoutMs | int64 | quote }}
{{- end }}
{{- end }}
