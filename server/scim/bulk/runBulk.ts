import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { AppError } from "../../errors.ts";
import { etagOf } from "../../domain/etag.ts";
import { scimErrorBody, toAppError } from "../../middleware/errorHandler.ts";
import type { ScimResource, ScimWrite, ScimWriteOutcome } from "../resourceWrites.ts";
import { BULK_RESPONSE_SCHEMA, type BulkOperation, type BulkRequest } from "./bulkRequest.ts";
import { planBulk } from "./bulkPlan.ts";
import { referenceOf, substituteReferences } from "./bulkReferences.ts";

/** One entry of a BulkResponse's Operations (RFC 7644 §3.7.3); status is a string, as in the RFC's examples. */
export type BulkOperationResult = {
  method?: string;
  bulkId?: string;
  version?: string;
  location?: string;
  status: string;
  response?: Record<string, unknown>;
};

export type BulkResponse = { schemas: string[]; Operations: BulkOperationResult[] };

/** What running a Bulk request needs from the route: the write itself, the rate limit, the metrics, the log. */
export type BulkRunner = {
  perform(write: ScimWrite): Promise<ScimWriteOutcome>;
  /** Takes one rate-limit token for an operation after the first (the request's own token covers it); an error refuses it. */
  admit(): Promise<AppError | undefined>;
  /** The URL of a resource, for operations that fail after naming one. */
  locationOf(resource: ScimResource, id: string): string;
  observe(operation: BulkOperation, status: number): void;
  /** A server-side failure (5xx) of one operation, logged as the error handler logs a failed request. */
  failed(error: AppError, thrown: unknown): void;
};

/** 409 for an operation whose referenced bulkId belongs to a POST that failed (or was not run). */
class UnresolvedReferenceError extends AppError {
  constructor(bulkId: string) {
    super(409, "conflict", `bulkId:${bulkId} cannot be resolved: the POST operation that declares it failed.`);
  }
}

/** The single-request write an operation stands for, with its references resolved. */
function writeOf(operation: BulkOperation, target: string | undefined, data: unknown): ScimWrite {
  const { method, resource, version } = operation;
  if (method === "POST") return { method, resource, body: data };
  if (method === "DELETE") return { method, resource, id: target!, ifMatch: version };
  return { method, resource, id: target!, body: data, ifMatch: version };
}

/**
 * Runs a Bulk request (RFC 7644 §3.7). Operations run one after another in the plan's order,
 * each through the same command as its single request, in its own transaction: a failed one
 * leaves earlier ones in place and the rest continue, until `failOnErrors` errors have been seen
 * (the rest are then not run and not reported). `version` is the operation's If-Match. The
 * event loop is yielded between operations, so a large request never holds it for more than one
 * operation. The entries are returned in request order.
 */
export async function runBulk(request: BulkRequest, runner: BulkRunner): Promise<BulkResponse> {
  const { operations, failOnErrors } = request;
  const plan = planBulk(operations);
  const createdIds = new Map<string, string>();
  const results = new Map<number, BulkOperationResult>();
  let errors = 0;
  let ran = 0;
  for (const index of plan.order) {
    if (failOnErrors !== undefined && errors >= failOnErrors) break;
    const parsed = operations[index]!;
    const entry: BulkOperationResult = { ...parsed.echo, status: "" };
    results.set(index, entry);
    const fail = (error: AppError) => {
      errors += 1;
      entry.status = String(error.status);
      entry.response = scimErrorBody(error);
    };
    const operation = parsed.operation;
    // RFC 7644 §3.7.3: location is required except for a failed POST, so a failed operation on a
    // known resource names it (a reference to a resource that was never created has no URL).
    const target = operation?.target === undefined ? undefined : (substituteReferences(operation.target, createdIds) as string);
    if (operation && target !== undefined && referenceOf(target) === undefined) entry.location = runner.locationOf(operation.resource, target);
    const refused = parsed.error ?? plan.refusals.get(index);
    if (refused || !operation) {
      fail(refused!);
      continue;
    }
    const unresolved = [...(plan.references.get(index) ?? [])].find((ref) => !createdIds.has(ref));
    if (unresolved !== undefined) {
      fail(new UnresolvedReferenceError(unresolved));
      continue;
    }
    if (ran > 0) {
      const limited = await runner.admit();
      if (limited) {
        // Out of rate budget: this operation fails with the 429 and nothing after it runs.
        fail(limited);
        runner.observe(operation, limited.status);
        break;
      }
      await yieldToEventLoop();
    }
    ran += 1;
    try {
      const outcome = await runner.perform(writeOf(operation, target, substituteReferences(operation.data, createdIds)));
      entry.status = String(outcome.status);
      entry.location = outcome.location;
      if (outcome.status !== 204) entry.version = etagOf(outcome.version);
      if (operation.method === "POST" && operation.bulkId !== undefined) createdIds.set(operation.bulkId, outcome.id);
      runner.observe(operation, outcome.status);
    } catch (thrown) {
      const error = toAppError(thrown);
      if (error.status >= 500) runner.failed(error, thrown);
      fail(error);
      runner.observe(operation, error.status);
    }
  }
  // The RFC's key order (method, bulkId, version, location, status, response), for readers of raw JSON.
  const ordered = ({ method, bulkId, version, location, status, response }: BulkOperationResult): BulkOperationResult => ({
    ...(method === undefined ? {} : { method }),
    ...(bulkId === undefined ? {} : { bulkId }),
    ...(version === undefined ? {} : { version }),
    ...(location === undefined ? {} : { location }),
    status,
    ...(response === undefined ? {} : { response }),
  });
  return {
    schemas: [BULK_RESPONSE_SCHEMA],
    Operations: [...results.entries()].sort(([a], [b]) => a - b).map(([, entry]) => ordered(entry)),
  };
}
