import { randomFillSync } from "node:crypto";
import { monotonicFactory } from "ulid";

/** Prefixes of every id Rollcall hands out (SPEC: prefixed ULIDs). */
export type IdPrefix =
  | "org" | "conn" | "scimt" | "user" | "team" | "whep" | "msg" | "whdl" | "wha" | "map" | "run" | "audit" | "req" | "pm" | "ps" | "dir";

/**
 * ulid's default PRNG asks the OS for one byte per character (16 calls per id), which showed up at
 * 3% of a busy server's CPU. The same CSPRNG bytes, drawn 4 KiB at a time.
 */
const pool = new Uint8Array(4096);
let poolOffset = pool.length;
function pooledRandom(): number {
  if (poolOffset === pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  return pool[poolOffset++]! / 256;
}

const nextUlid = monotonicFactory(pooledRandom);

/** A new prefixed ULID, e.g. `user_01J…`; sortable by creation time. */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${nextUlid()}`;
}

/** Whether a string has the shape of an id with the given prefix (cheap check before a query). */
export function looksLikeId(prefix: IdPrefix, value: string): boolean {
  return value.length === prefix.length + 27 && value.startsWith(`${prefix}_`);
}
