import http from "node:http";
import type { FuzzGenerator, FuzzRequest, FuzzTargets } from "./fuzzGenerator.ts";

const SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error";
const MAX_KNOWN_IDS = 500;

type Response = { status: number; contentType: string; body: string; connectionClose: boolean };

/** What a fuzz run saw. `serverErrors` and `missingScimErrorBody` must be empty for a pass. */
export type FuzzReport = {
  sent: number;
  durationMs: number;
  histogram: Record<string, number>;
  /** 5xx answers (and Bulk operations answered 5xx inside a 200), with the request that caused them. */
  serverErrors: string[];
  serverErrorCount: number;
  /** Error answers on /scim that the server produced without the SCIM error body. */
  missingScimErrorBody: string[];
  /** Requests that got no HTTP answer at all (reset, timeout): a crash or a hang. */
  transportErrors: Record<string, number>;
  /**
   * Answers Node's HTTP parser gave before the app saw the request (an unknown method, a chunked
   * GET): empty, no content type, connection closed. Counted, not held to the SCIM body rule.
   */
  protocolRejections: number;
  /** 2xx answers to one organization's token for a path naming the other organization's resource. */
  crossTenantHits: string[];
  /** How many requests named the other organization's resource in their path (the isolation check's sample size). */
  crossTenantAttempts: number;
};

function describe(request: FuzzRequest): string {
  const body = request.body === undefined ? "" : ` body=${JSON.stringify(request.body.subarray(0, 300).toString("latin1"))}`;
  return `${request.method} ${request.path.slice(0, 300)} headers=${JSON.stringify(request.headers).slice(0, 300)}${body}`;
}

function send(agent: http.Agent, baseUrl: URL, request: FuzzRequest, timeoutMs: number): Promise<Response> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...request.headers };
    if (request.body !== undefined && !request.chunked) headers["Content-Length"] = request.body.length;
    const req = http.request({ host: baseUrl.hostname, port: baseUrl.port, method: request.method, path: request.path, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        // Only the head of a body matters for the checks; a huge body must not grow the test's memory.
        if (size < 65_536) chunks.push(chunk);
        size += chunk.length;
      });
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          contentType: String(res.headers["content-type"] ?? ""),
          body: Buffer.concat(chunks).toString("utf8"),
          connectionClose: String(res.headers.connection ?? "").toLowerCase() === "close",
        }),
      );
      res.on("error", reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error("timed out"), { code: "timeout" })));
    req.on("error", reject);
    req.end(request.body);
  });
}

/** Whether the server's error-handling surface for this path is SCIM (mirrors server/middleware/requestContext.ts). */
function isScimSurface(path: string): boolean {
  const pathname = path.split("?")[0]!;
  return pathname.startsWith("/scim/") || pathname === "/scim";
}

function hasScimErrorBody(response: Response): boolean {
  if (!response.contentType.startsWith("application/scim+json")) return false;
  try {
    const body = JSON.parse(response.body) as { schemas?: unknown; status?: unknown };
    return Array.isArray(body.schemas) && body.schemas[0] === SCIM_ERROR && body.status === String(response.status);
  } catch {
    return false;
  }
}

/** The id a /Users/<id> or /Groups/<id> path names, decoded; undefined for other paths. */
/** A Bulk answer is a 200 even when an operation in it failed on the server: each operation's status counts too. */
function bulkOperationFailedOnServer(path: string, response: Response): boolean {
  if (response.status !== 200 || !/^\/scim\/v2\/Bulk(\?|$)/.test(path)) return false;
  try {
    const body = JSON.parse(response.body) as { Operations?: Array<{ status?: unknown }> };
    return (body.Operations ?? []).some((op) => Number(op.status) >= 500);
  } catch {
    return false;
  }
}

function pathId(path: string): string | undefined {
  const match = /^\/scim\/v2\/(?:Users|Groups)\/([^/?]+)(?:\?|$)/.exec(path);
  if (!match) return undefined;
  try {
    return decodeURIComponent(match[1]!);
  } catch {
    return undefined;
  }
}

/** Whether this request is one organization's token aimed at the other organization's resource. */
function crossesTenants(targets: FuzzTargets, request: FuzzRequest): boolean {
  // OPTIONS answers from the route pattern alone (Allow), the same for any id: it reveals nothing.
  if (request.method === "OPTIONS") return false;
  const id = pathId(request.path);
  if (id === undefined) return false;
  const auth = request.headers.Authorization;
  const own = targets.userIds.includes(id) || targets.groupIds.includes(id);
  return (auth === `Bearer ${targets.token}` && targets.foreignIds.includes(id)) || (auth === `Bearer ${targets.otherToken}` && own);
}

/**
 * The 2xx operations of a Bulk answer that acted on the other organization's resource (one
 * organization's token reached the other's id through an operation's path).
 */
function bulkCrossTenantHits(targets: FuzzTargets, request: FuzzRequest, response: Response): string[] {
  if (response.status !== 200 || !/^\/scim\/v2\/Bulk(\?|$)/.test(request.path)) return [];
  const auth = request.headers.Authorization;
  try {
    const body = JSON.parse(response.body) as { Operations?: Array<{ status?: unknown; location?: unknown }> };
    return (body.Operations ?? [])
      .filter((op) => Number(op.status) < 300 && typeof op.location === "string")
      .map((op) => String(op.location).split("/").pop()!)
      .filter((id) => (auth === `Bearer ${targets.token}` && targets.foreignIds.includes(id)) ||
        (auth === `Bearer ${targets.otherToken}` && (targets.userIds.includes(id) || targets.groupIds.includes(id))));
  } catch {
    return [];
  }
}

/** Learns ids from successful creates so later requests aim at real resources. */
function learn(targets: FuzzTargets, request: FuzzRequest, response: Response): void {
  if (response.status !== 201 || request.headers.Authorization !== `Bearer ${targets.token}`) return;
  try {
    const body = JSON.parse(response.body) as { id?: unknown };
    if (typeof body.id !== "string") return;
    const pool = body.id.startsWith("team_") ? targets.groupIds : targets.userIds;
    if (pool.length >= MAX_KNOWN_IDS) pool.splice(0, 1);
    pool.push(body.id);
  } catch {
    // A 201 that is not JSON would show up in the histogram review; nothing to learn here.
  }
}

/**
 * Sends `total` generated requests over keep-alive connections with bounded concurrency, or as many
 * as fit in `timeLimitMs`, and checks every answer: no 5xx, SCIM error bodies on /scim, no resets.
 */
export async function runFuzz(options: {
  baseUrl: string;
  targets: FuzzTargets;
  generator: FuzzGenerator;
  total: number;
  concurrency: number;
  timeLimitMs: number;
  requestTimeoutMs?: number;
}): Promise<FuzzReport> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
  const baseUrl = new URL(options.baseUrl);
  const report: FuzzReport = { sent: 0, durationMs: 0, histogram: {}, serverErrors: [], serverErrorCount: 0, missingScimErrorBody: [], transportErrors: {}, crossTenantHits: [], crossTenantAttempts: 0, protocolRejections: 0 };
  const started = Date.now();
  const deadline = started + options.timeLimitMs;
  let issued = 0;
  const worker = async () => {
    while (issued < options.total && Date.now() < deadline) {
      issued++;
      const request = options.generator.next(options.targets);
      // Decided before sending: a DELETE that succeeded would otherwise drop the id from the pools first.
      const crossing = crossesTenants(options.targets, request);
      let response: Response;
      try {
        response = await send(agent, baseUrl, request, options.requestTimeoutMs ?? 30_000);
      } catch (error) {
        const code = String((error as { code?: unknown }).code ?? (error as Error).name);
        if (code.startsWith("ERR_INVALID") || code === "ERR_UNESCAPED_CHARACTERS" || code === "ERR_HTTP_INVALID_HEADER_VALUE") {
          // Node refused to put this on the wire; the generator should not make these, but it is no server fault.
          report.histogram[`client:${code}`] = (report.histogram[`client:${code}`] ?? 0) + 1;
          continue;
        }
        report.sent++;
        report.transportErrors[code] = (report.transportErrors[code] ?? 0) + 1;
        continue;
      }
      report.sent++;
      report.histogram[response.status] = (report.histogram[response.status] ?? 0) + 1;
      if (response.status >= 500 || bulkOperationFailedOnServer(request.path, response)) {
        report.serverErrorCount++;
        if (report.serverErrors.length < 20) report.serverErrors.push(`${response.status} ${response.body.slice(0, 200)} <- ${describe(request)}`);
      }
      const fromParser = response.status >= 400 && response.body === "" && response.contentType === "" && response.connectionClose;
      if (fromParser) report.protocolRejections++;
      if (response.status >= 400 && !fromParser && request.method !== "HEAD" && isScimSurface(request.path) && !hasScimErrorBody(response)) {
        if (report.missingScimErrorBody.length < 20) report.missingScimErrorBody.push(`${response.status} ${response.contentType} ${response.body.slice(0, 200)} <- ${describe(request)}`);
      }
      if (crossing) {
        report.crossTenantAttempts++;
        if (response.status < 300 && report.crossTenantHits.length < 20) report.crossTenantHits.push(`${response.status} ${response.body.slice(0, 200)} <- ${describe(request)}`);
      }
      const bulkHits = bulkCrossTenantHits(options.targets, request, response);
      if (bulkHits.length > 0 && report.crossTenantHits.length < 20) report.crossTenantHits.push(`Bulk reached ${bulkHits.join(", ")} <- ${describe(request)}`);
      learn(options.targets, request, response);
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency }, worker));
  } finally {
    agent.destroy();
  }
  report.durationMs = Date.now() - started;
  return report;
}

/** The histogram as `status×count` pairs, in status order, for the test output. */
export function formatHistogram(histogram: Record<string, number>): string {
  return Object.entries(histogram)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([status, count]) => `${status}×${count}`)
    .join(" ");
}
