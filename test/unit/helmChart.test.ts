import { expect } from "chai";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv, type ValidateFunction } from "ajv";
import { parse } from "yaml";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const chartDir = path.join(root, "helm");

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function readText(relative: string): string {
  return readFileSync(path.join(root, relative), "utf8");
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** values.yaml with `overrides` deep-merged over it, the way `helm --values` layers files. */
function valuesWith(overrides: JsonObject): JsonObject {
  const merge = (base: JsonObject, extra: JsonObject): JsonObject => {
    const out: JsonObject = { ...base };
    for (const [key, value] of Object.entries(extra)) {
      const current = out[key];
      out[key] = isObject(current) && isObject(value) ? merge(current, value) : value;
    }
    return out;
  };
  return merge(parse(readText("helm/values.yaml")) as JsonObject, overrides);
}

let compiled: ValidateFunction | undefined;

/** The chart's values schema, compiled once; strict mode also rejects keywords draft-07 does not know. */
function compileSchema(): ValidateFunction {
  compiled ??= new Ajv({ allErrors: true, strict: true }).compile(JSON.parse(readText("helm/values.schema.json")) as JsonObject);
  return compiled;
}

function errorsOf(validate: ValidateFunction): string {
  return (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`).join("; ");
}

/** The schema node for a property, following local $refs. */
function resolve(schema: JsonObject, node: Json | undefined): JsonObject | undefined {
  if (!isObject(node)) return undefined;
  const ref = node.$ref;
  if (typeof ref === "string" && ref.startsWith("#/definitions/")) {
    const definitions = schema.definitions;
    return isObject(definitions) ? resolve(schema, definitions[ref.slice("#/definitions/".length)]) : undefined;
  }
  return node;
}

describe("helm chart", () => {
  describe("values.schema.json", () => {
    it("accepts the chart's own values.yaml", () => {
      const validate = compileSchema();
      const ok = validate(parse(readText("helm/values.yaml")));
      expect(ok, errorsOf(validate)).to.equal(true);
    });

    it("accepts a complete production configuration", () => {
      const validate = compileSchema();
      const values = valuesWith({
        publicUrl: "https://rollcall.example.com",
        databaseUrl: "postgres://rollcall:secret@db.internal:5432/rollcall",
        adminKey: "rk_0123456789abcdef0123456789",
        encryptionKey: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        image: { repository: "registry.example.com/platform/rollcall", tag: "0.1.0", digest: "" },
        reconciler: { mode: "deployment", schedule: "*/5 * * * *", repair: true, replicas: 2 },
        autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 6, targetMemoryUtilizationPercentage: 80 },
        podDisruptionBudget: { enabled: true, minAvailable: "50%", maxUnavailable: null },
        ingress: {
          enabled: true,
          className: "nginx",
          hosts: [{ host: "rollcall.example.com", paths: [{ path: "/", pathType: "Prefix" }] }],
          tls: [{ secretName: "rollcall-tls", hosts: ["rollcall.example.com"] }],
        },
        metrics: {
          serviceMonitor: { enabled: true, labels: { release: "kube-prometheus-stack" }, interval: "15s" },
          prometheusRule: { enabled: true, runbookBaseUrl: "https://git.example.com/platform/rollcall/blob/main" },
          dashboard: { enabled: true, namespace: "monitoring" },
        },
        extraEnv: [{ name: "ROLLCALL_WEBHOOK_TIMEOUT_MS", value: "5000" }],
      });
      const ok = validate(values);
      expect(ok, errorsOf(validate)).to.equal(true);
    });

    const invalid: Array<[string, JsonObject, string]> = [
      ["a negative server replica count", { server: { replicas: -1 } }, "/server/replicas"],
      ["replicas given as a string", { server: { replicas: "2" } }, "/server/replicas"],
      ["a negative reconciler replica count", { reconciler: { replicas: -3 } }, "/reconciler/replicas"],
      ["an unknown reconciler mode", { reconciler: { mode: "cronjob" } }, "/reconciler/mode"],
      ["a schedule that is not a cron expression", { reconciler: { schedule: "every 15 minutes" } }, "/reconciler/schedule"],
      ["a misspelt top-level key", { replicas: 3 }, ""],
      ["a misspelt nested key", { server: { replica: 3 } }, "/server"],
      ["an admin key shorter than 16 characters", { adminKey: "short" }, "/adminKey"],
      ["a database URL that is not postgres", { databaseUrl: "mysql://db/rollcall" }, "/databaseUrl"],
      ["a public URL without a scheme", { publicUrl: "rollcall.example.com" }, "/publicUrl"],
      ["an unknown log level", { logLevel: "verbose" }, "/logLevel"],
      ["a boolean given as a string", { server: { dispatcher: "yes" } }, "/server/dispatcher"],
      ["a pool size of zero", { database: { poolMax: 0 } }, "/database/poolMax"],
      ["a negative rate limit", { scim: { rateLimit: -5 } }, "/scim/rateLimit"],
      ["a service port out of range", { service: { port: 70000 } }, "/service/port"],
      ["a scrape interval Prometheus cannot parse", { metrics: { serviceMonitor: { interval: "30 seconds" } } }, "/metrics/serviceMonitor/interval"],
      ["a malformed CPU request", { server: { resources: { requests: { cpu: "lots" } } } }, "/server/resources/requests/cpu"],
      ["an env var without a name", { extraEnv: [{ value: "1" }] }, "/extraEnv/0"],
      ["a PDB budget that is neither a count nor a percentage", { podDisruptionBudget: { maxUnavailable: "one" } }, "/podDisruptionBudget/maxUnavailable"],
    ];
    for (const [what, overrides, where] of invalid) {
      it(`rejects ${what}`, () => {
        const validate = compileSchema();
        expect(validate(valuesWith(overrides))).to.equal(false);
        const paths = (validate.errors ?? []).map((e) => e.instancePath);
        expect(paths, errorsOf(validate)).to.include(where);
      });
    }

    it("declares every key that values.yaml sets", () => {
      const schema = JSON.parse(readText("helm/values.schema.json")) as JsonObject;
      const undeclared: string[] = [];
      const walk = (values: JsonObject, node: JsonObject | undefined, at: string) => {
        const properties = node?.properties;
        // An object schema without `properties` is a Kubernetes pass-through (resources, probes, affinity).
        if (!isObject(properties)) return;
        for (const [key, value] of Object.entries(values)) {
          const child = resolve(schema, properties[key]);
          if (!child) undeclared.push(`${at}${key}`);
          else if (isObject(value)) walk(value, child, `${at}${key}.`);
        }
      };
      walk(parse(readText("helm/values.yaml")) as JsonObject, schema, "");
      expect(undeclared).to.deep.equal([]);
    });
  });

  describe("templates", () => {
    const expected = [
      "_helpers.tpl",
      "NOTES.txt",
      "configmap-dashboard.yaml",
      "deployment-dispatch.yaml",
      "deployment-reconciler.yaml",
      "deployment-server.yaml",
      "hpa.yaml",
      "ingress.yaml",
      "job-migrate.yaml",
      "pdb.yaml",
      "prometheusrule.yaml",
      "secret-redis.yaml",
      "secret.yaml",
      "service-reconciler.yaml",
      "service.yaml",
      "servicemonitor.yaml",
    ];

    it("has exactly one template per resource, and Chart.yaml", () => {
      expect(existsSync(path.join(chartDir, "Chart.yaml"))).to.equal(true);
      expect(readdirSync(path.join(chartDir, "templates")).sort()).to.deep.equal([...expected].sort());
    });

    it("names the chart rollcall and deploys the package's version", () => {
      const chart = parse(readText("helm/Chart.yaml")) as JsonObject;
      const pkg = JSON.parse(readText("package.json")) as JsonObject;
      expect(chart.apiVersion).to.equal("v2");
      expect(chart.name).to.equal("rollcall");
      expect(chart.appVersion).to.equal(pkg.version);
    });

    it("reads the alert rules file into the PrometheusRule", () => {
      const template = readText("helm/templates/prometheusrule.yaml");
      expect(template).to.include('.Files.Get "files/rollcall.rules.yml"');
      expect(template).to.match(/kind: PrometheusRule/);
      expect(template).to.match(/apiVersion: monitoring\.coreos\.com\/v1/);
      const rules = parse(readText("helm/files/rollcall.rules.yml")) as JsonObject;
      expect(rules.groups).to.be.an("array").that.is.not.empty;
    });

    it("ships the Grafana dashboard file as a labelled ConfigMap", () => {
      const template = readText("helm/templates/configmap-dashboard.yaml");
      expect(template).to.include('.Files.Get "dashboards/rollcall.json"');
      expect(template).to.include('grafana_dashboard: "1"');
      const dashboard = JSON.parse(readText("helm/dashboards/rollcall.json")) as JsonObject;
      expect(dashboard.uid).to.equal("rollcall");
      expect(dashboard.panels).to.be.an("array").that.is.not.empty;
    });

    it("only refers to values that values.yaml defines", () => {
      const values = parse(readText("helm/values.yaml")) as JsonObject;
      const missing: string[] = [];
      for (const file of expected) {
        const text = readText(`helm/templates/${file}`);
        for (const match of text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) {
          let node: Json | undefined = values;
          for (const key of match[1]!.slice(1).split(".")) {
            node = isObject(node) && key in node ? node[key] : undefined;
            if (node === undefined) break;
          }
          if (node === undefined) missing.push(`${file}: .Values${match[1]}`);
        }
      }
      expect(missing).to.deep.equal([]);
    });

    it("runs each workload with its role's switches and the image's entrypoint commands", () => {
      const server = readText("helm/templates/deployment-server.yaml");
      expect(server).to.include('args: ["serve"]');
      expect(server).to.match(/ROLLCALL_ENABLE_RECONCILER\s+value: \{\{ eq \.Values\.reconciler\.mode "server" \| quote \}\}/);
      const reconciler = readText("helm/templates/deployment-reconciler.yaml");
      expect(reconciler).to.match(/args:\s+- reconcile/);
      expect(reconciler).to.match(/ROLLCALL_ENABLE_DISPATCHER\s+value: "false"/);
      const migrate = readText("helm/templates/job-migrate.yaml");
      expect(migrate).to.include('args: ["migrate"]');
      expect(migrate).to.include("helm.sh/hook: pre-install,pre-upgrade");
      expect(migrate).to.include("helm.sh/hook-delete-policy:");
      const dispatch = readText("helm/templates/deployment-dispatch.yaml");
      expect(dispatch).to.include('args: ["dispatch"]');
      expect(dispatch).to.match(/ROLLCALL_ENABLE_RECONCILER\s+value: "false"/);
      // The server stops dispatching while the dispatch Deployment runs.
      expect(server).to.match(/ROLLCALL_ENABLE_DISPATCHER\s+value: \{\{ and \.Values\.server\.dispatcher \(not \.Values\.dispatch\.enabled\) \| quote \}\}/);
    });

    it("runs the compiled JavaScript in the image, with no TypeScript transpiler", () => {
      const dockerfile = readText("Dockerfile");
      expect(dockerfile).to.include('ENTRYPOINT ["node", "dist/server/cli.js"]');
      expect(dockerfile).to.match(/^RUN npm run build$/m);
      expect(dockerfile).to.include("npm ci --omit=dev");
      const instructions = dockerfile.split("\n").filter((line) => !line.trimStart().startsWith("#")).join("\n");
      expect(instructions).not.to.match(/--import|tsx/);
      const pkg = JSON.parse(readText("package.json")) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
      expect(Object.keys(pkg.dependencies)).not.to.include("tsx");
      expect(Object.keys(pkg.devDependencies)).to.include("tsx");
    });

    it("passes REDIS_URL to the server from a Secret, never from a plain value, and leaves it out of the migration Job", () => {
      const helpers = readText("helm/templates/_helpers.tpl");
      expect(helpers).to.match(/- name: REDIS_URL\s+valueFrom:\s+secretKeyRef:/);
      expect(readText("helm/templates/deployment-server.yaml")).to.include('include "rollcall.redisEnv"');
      expect(readText("helm/templates/job-migrate.yaml")).not.to.include("redisEnv");
      expect(readText("helm/templates/secret-redis.yaml")).to.include("if and .Values.redis.url (not .Values.redis.existingSecret)");
    });

    it("runs pods as the image's non-root user with a read-only root and no writable volume", () => {
      const values = parse(readText("helm/values.yaml")) as JsonObject;
      const pod = values.podSecurityContext as JsonObject;
      const container = values.securityContext as JsonObject;
      expect(readText("Dockerfile")).to.match(new RegExp(`^USER ${String(pod.runAsUser)}:${String(pod.runAsGroup)}$`, "m"));
      expect(pod.runAsNonRoot).to.equal(true);
      expect(pod.seccompProfile).to.deep.equal({ type: "RuntimeDefault" });
      expect(container.readOnlyRootFilesystem).to.equal(true);
      expect(container.allowPrivilegeEscalation).to.equal(false);
      expect(container.capabilities).to.deep.equal({ drop: ["ALL"] });
      for (const file of ["deployment-server.yaml", "deployment-dispatch.yaml", "deployment-reconciler.yaml", "job-migrate.yaml"]) {
        const text = readText(`helm/templates/${file}`);
        expect(text, file).not.to.match(/volumeMounts|emptyDir/);
        expect(text, file).to.include("toYaml .Values.securityContext");
      }
    });
  });
});
