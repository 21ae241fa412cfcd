/**
 * Validates rendered Kubernetes manifests (`helm template` output) against the Kubernetes API
 * schemas shipped in the npm packages kubernetes-models (core, apps, batch, autoscaling, policy,
 * networking) and @kubernetes-models/prometheus-operator (ServiceMonitor, PrometheusRule). The
 * schemas are in the packages, so this works offline, unlike kubeconform, which downloads them.
 *
 *   helm template rollcall ./helm --set … | node --import tsx scripts/validateManifests.ts
 *
 * Prints one line per object and exits 1 if any object is invalid or of a kind without a schema.
 * Limits (see helm/README.md): unknown fields are not reported (the schemas allow them), and the
 * API version is the one kubernetes-models was generated from, not a particular cluster's.
 */
import { parseAllDocuments } from "yaml";

type Manifest = { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown } };
type Model = new (data: object) => { validate(): void };

/** The npm module holding the schemas of an apiVersion. */
function schemaModule(apiVersion: string): string {
  if (apiVersion === "monitoring.coreos.com/v1") return "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
  return `kubernetes-models/${apiVersion}`;
}

/** Validates each manifest; returns one error line per invalid or unknown object. */
export async function validateManifests(manifests: Manifest[], print: (line: string) => void = () => {}): Promise<string[]> {
  const problems: string[] = [];
  for (const manifest of manifests) {
    const id = `${String(manifest.apiVersion)} ${String(manifest.kind)}/${String(manifest.metadata?.name)}`;
    if (typeof manifest.apiVersion !== "string" || typeof manifest.kind !== "string") {
      problems.push(`${id}: missing apiVersion or kind`);
      continue;
    }
    let model: Model | undefined;
    try {
      model = ((await import(schemaModule(manifest.apiVersion))) as Record<string, Model | undefined>)[manifest.kind];
    } catch {
      model = undefined;
    }
    if (!model) {
      problems.push(`${id}: no schema for this apiVersion/kind`);
      continue;
    }
    try {
      new model(manifest).validate();
      print(`ok      ${id}`);
    } catch (error) {
      problems.push(`${id}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return problems;
}

/** Parses a multi-document YAML stream, dropping empty documents (helm emits `---` separators). */
export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null && typeof m === "object");
}

async function main(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const manifests = parseManifests(Buffer.concat(chunks).toString("utf8"));
  const problems = await validateManifests(manifests, (line) => console.log(line));
  for (const p of problems) console.log(`INVALID ${p}`);
  console.log(`${manifests.length - problems.length} of ${manifests.length} objects valid`);
  if (problems.length > 0 || manifests.length === 0) process.exit(1);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
