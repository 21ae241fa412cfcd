import { AppError, ValidationError } from "../../errors.ts";
import type { ParsedOperation } from "./bulkRequest.ts";
import { referencesOf } from "./bulkReferences.ts";

/**
 * The order a Bulk request's operations run in, and the operations refused before anything runs.
 * `references` holds the bulkIds each runnable operation refers to; `creatorOf` which operation
 * declares each bulkId (its first POST).
 */
export type BulkPlan = {
  order: number[];
  refusals: Map<number, AppError>;
  references: Map<number, Set<string>>;
  creatorOf: Map<string, number>;
};

/** 409 for references that can only be resolved by running an operation before itself. */
export class CircularReferenceError extends AppError {
  constructor(references: string[]) {
    super(
      409,
      "conflict",
      `The bulkId references of this operation (${references.map((r) => `bulkId:${r}`).join(", ")}) are circular or depend on a circular chain; ` +
        "the operation was not run (RFC 7644 §3.7.1). Create the resources first and link them with a later PATCH.",
    );
  }
}

/** A binary min-heap of operation indexes: the runnable operation that came first in the request runs first. */
class IndexHeap {
  private readonly items: number[] = [];
  get size(): number {
    return this.items.length;
  }
  push(value: number): void {
    const items = this.items;
    items.push(value);
    for (let i = items.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (items[parent]! <= items[i]!) break;
      [items[parent], items[i]] = [items[i]!, items[parent]!];
      i = parent;
    }
  }
  pop(): number {
    const items = this.items;
    const top = items[0]!;
    const last = items.pop()!;
    if (items.length > 0) {
      items[0] = last;
      for (let i = 0; ; ) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < items.length && items[left]! < items[smallest]!) smallest = left;
        if (right < items.length && items[right]! < items[smallest]!) smallest = right;
        if (smallest === i) break;
        [items[smallest], items[i]] = [items[i]!, items[smallest]!];
        i = smallest;
      }
    }
    return top;
  }
}

/**
 * Orders the operations so that each runs after the POSTs whose bulkIds it refers to (RFC 7644
 * §3.7.2 lets the server reorder for that), otherwise in request order: a topological sort (Kahn)
 * that always takes the earliest runnable operation, in O(operations + references). Refused up
 * front: a second POST declaring a bulkId already declared (400), a reference to a bulkId no POST
 * declares (400), and references that form a cycle or hang on one (409, §3.7.1 — not resolved,
 * never looped on). Refused operations keep their place in the order, so failOnErrors counts them
 * where they stand; the circular ones come last, where the sort finds them.
 */
export function planBulk(operations: readonly ParsedOperation[]): BulkPlan {
  const refusals = new Map<number, AppError>();
  const creatorOf = new Map<string, number>();
  for (const parsed of operations) {
    const bulkId = parsed.echo.bulkId;
    if (parsed.echo.method !== "POST" || bulkId === undefined) continue;
    const first = creatorOf.get(bulkId);
    if (first === undefined) creatorOf.set(bulkId, parsed.index);
    else if (!parsed.error) {
      refusals.set(parsed.index, new ValidationError(`bulkId "${bulkId}" is already declared by operation ${first + 1}; bulkIds are unique within a request.`, { field: "bulkId" }));
    }
  }

  const references = new Map<number, Set<string>>();
  const dependents: number[][] = operations.map(() => []);
  const waitingOn: number[] = operations.map(() => 0);
  for (const parsed of operations) {
    if (!parsed.operation || refusals.has(parsed.index)) continue;
    const refs = referencesOf(parsed.operation);
    const unknown = [...refs].filter((ref) => !creatorOf.has(ref));
    if (unknown.length > 0) {
      refusals.set(parsed.index, new ValidationError(`bulkId:${unknown[0]} names no POST operation of this request.`, { field: "bulkId" }));
      continue;
    }
    references.set(parsed.index, refs);
    for (const ref of refs) {
      dependents[creatorOf.get(ref)!]!.push(parsed.index);
      waitingOn[parsed.index]! += 1;
    }
  }

  const order: number[] = [];
  const ready = new IndexHeap();
  waitingOn.forEach((count, index) => count === 0 && ready.push(index));
  while (ready.size > 0) {
    const index = ready.pop();
    order.push(index);
    for (const dependent of dependents[index]!) {
      waitingOn[dependent]! -= 1;
      if (waitingOn[dependent] === 0) ready.push(dependent);
    }
  }
  waitingOn.forEach((count, index) => {
    if (count === 0) return;
    refusals.set(index, new CircularReferenceError([...references.get(index)!]));
    order.push(index);
  });
  return { order, refusals, references, creatorOf };
}
