import { monotonicFactory } from "ulid";

/** Prefixes of every id Rollcall hands out (SPEC: prefixed ULIDs). */
export type IdPrefix =
  | "org" | "conn" | "scimt" | "user" | "team" | "whep" | "msg" | "whdl" | "wha" | "map" | "run" | "audit" | "req" | "pm";

const nextUlid = monotonicFactory();

/** A new prefixed ULID, e.g. `user_01J…`; sortable by creation time. */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${nextUlid()}`;
}

/** Whether a string has the shape of an id with the given prefix (cheap check before a query). */
export function looksLikeId(prefix: IdPrefix, value: string): boolean {
  return value.length === prefix.length + 27 && value.startsWith(`${prefix}_`);
}
