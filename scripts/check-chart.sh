#!/usr/bin/env bash
# Checks the Helm chart with real tools: `helm lint` and `helm template` for several sets of values,
# then the rendered objects against the Kubernetes API schemas (scripts/validateManifests.ts, using
# the schemas shipped in the kubernetes-models npm packages, so it works offline).
# helm comes from the Go module proxy (`go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION`) when it
# is not on PATH. What this cannot check is listed in helm/README.md ("What is verified").
set -euo pipefail
cd "$(dirname "$0")/.."

HELM_VERSION=v3.21.4
# A helm built by `go install` reports Kubernetes v1.20 as its default (the release builds set the
# real one with -ldflags), below the chart's kubeVersion; render for a current cluster instead.
KUBE_VERSION=1.34.0
export PATH="$PATH:/usr/local/go/bin"
export PATH="$PATH:$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin"

if ! command -v helm >/dev/null 2>&1; then
  if ! command -v go >/dev/null 2>&1; then
    echo "check-chart: helm is not installed and there is no Go toolchain to build it; skipped" >&2
    exit 0
  fi
  echo "check-chart: building helm $HELM_VERSION with go install (several minutes the first time)"
  if ! timeout 1500 go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"; then
    echo "check-chart: could not build helm; skipped" >&2
    exit 0
  fi
fi
helm version --short

required=(--set databaseUrl=postgres://rollcall:secret@db.internal:5432/rollcall --set adminKey=rk_0123456789abcdef0123456789 --set encryptionKey=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=)
everything=(
  "${required[@]}"
  --set publicUrl=https://rollcall.example.com
  --set redis.url=redis://redis.internal:6379/0 --set redis.failureMode=closed
  --set dispatch.enabled=true --set dispatch.replicas=2
  --set autoscaling.enabled=true --set autoscaling.targetMemoryUtilizationPercentage=80
  --set ingress.enabled=true --set ingress.hosts[0].host=rollcall.example.com --set ingress.hosts[0].paths[0].path=/ --set ingress.hosts[0].paths[0].pathType=Prefix
  --set metrics.serviceMonitor.enabled=true --set metrics.prometheusRule.enabled=true --set metrics.dashboard.enabled=true
)
existing=(--set existingSecret=rollcall-credentials --set redis.existingSecret=rollcall-redis --set reconciler.mode=server)

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
status=0
for name in defaults everything existing-secrets; do
  case $name in
    defaults) args=("${required[@]}") ;;
    everything) args=("${everything[@]}") ;;
    existing-secrets) args=("${existing[@]}") ;;
  esac
  echo "== helm lint ($name)"
  helm lint --strict --kube-version "$KUBE_VERSION" ./helm "${args[@]}" || status=1
  echo "== helm template ($name) | validate against the Kubernetes schemas"
  helm template rollcall ./helm --namespace rollcall --kube-version "$KUBE_VERSION" "${args[@]}" >"$out/$name.yaml" || { status=1; continue; }
  node --import tsx scripts/validateManifests.ts <"$out/$name.yaml" || status=1
done
exit $status
