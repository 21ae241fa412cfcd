import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";

/**
 * The IdP fixtures the conformance tests replay: the project's own copy, so the suite runs from a
 * clone alone. test/conformance/fixtureCopy.test.ts checks it against SHARED_FIXTURE_DIR.
 */
export const FIXTURE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/idp");

/** Where the fixtures' source of truth lives beside our checkouts (absent beside a plain clone). */
export const SHARED_FIXTURE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../shared/fixtures/idp");

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export type FixtureStep = {
  name: string;
  note?: string;
  request: {
    method: string;
    path: string;
    headers?: Record<string, string>;
    body?: Json;
    rawBody?: string;
    auth?: "token" | "none" | "invalid";
  };
  expect: { status: number | number[]; contentType?: string; body?: Record<string, Json> };
  save?: Record<string, string>;
};

export type Fixture = {
  name: string;
  idp: string;
  description: string;
  vars?: Record<string, string>;
  headers?: Record<string, string>;
  steps: FixtureStep[];
};

/** Reads one fixture file by name (e.g. "okta-spec-test.json"). */
export function loadFixture(file: string): Fixture {
  return JSON.parse(readFileSync(path.join(FIXTURE_DIR, file), "utf8")) as Fixture;
}

/** Template state for one run of one fixture: vars, saved values, and the fixed {{run}}. */
export class TemplateScope {
  private readonly values = new Map<string, Json>();

  constructor() {
    this.values.set("run", randomBytes(4).toString("hex"));
  }

  set(name: string, value: Json): void {
    this.values.set(name, value);
  }

  private lookup(expr: string): Json {
    const [transform, name] = expr.includes(":") ? (expr.split(/:(.*)/s, 2) as [string, string]) : [undefined, expr];
    if (name === "uuid") return randomUUID();
    if (!this.values.has(name)) throw new Error(`template names unknown variable {{${name}}}`);
    const value = this.values.get(name)!;
    if (transform === undefined) return value;
    const text = typeof value === "string" ? value : JSON.stringify(value);
    switch (transform) {
      case "upper":
        return text.toUpperCase();
      case "lower":
        return text.toLowerCase();
      case "url":
        return encodeURIComponent(text);
      case "form":
        return encodeURIComponent(text).replace(/%20/g, "+");
      default:
        throw new Error(`unknown template transform ${transform}`);
    }
  }

  /** Resolves templates in a string; a string that is exactly one template keeps the value's JSON type. */
  resolveString(input: string): Json {
    const whole = /^\{\{([^{}]+)\}\}$/.exec(input);
    if (whole) return this.lookup(whole[1]!.trim());
    return input.replace(/\{\{([^{}]+)\}\}/g, (_m, expr: string) => {
      const value = this.lookup(expr.trim());
      return typeof value === "string" ? value : JSON.stringify(value);
    });
  }

  /** Resolves templates in every string of a JSON value (not in object keys). */
  resolve(value: Json): Json {
    if (typeof value === "string") return this.resolveString(value);
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (value && typeof value === "object") {
      const out: { [key: string]: Json } = {};
      for (const [k, v] of Object.entries(value)) out[k] = this.resolve(v);
      return out;
    }
    return value;
  }
}

/** Splits a README path into segments: dots, numeric indexes, and one `urn:` segment up to the last ':'. */
export function splitFixturePath(p: string): Array<string | number> {
  if (p === "") return [];
  const segments: Array<string | number> = [];
  let rest = p;
  if (rest.startsWith("urn:")) {
    const lastColon = rest.lastIndexOf(":");
    const after = rest.slice(lastColon);
    const end = after.search(/[.[]/);
    const cut = end === -1 ? rest.length : lastColon + end;
    segments.push(rest.slice(0, cut));
    rest = rest.slice(cut);
    if (rest.startsWith(".")) rest = rest.slice(1);
  }
  for (const part of rest.match(/[^.[\]]+|\[\d+\]/g) ?? []) {
    segments.push(part.startsWith("[") ? Number(part.slice(1, -1)) : part);
  }
  return segments;
}

/** Reads a value at a README path; undefined when any segment is missing. */
export function readPath(value: unknown, p: string): unknown {
  let current: unknown = value;
  for (const segment of splitFixturePath(p)) {
    if (current === null || current === undefined) return undefined;
    if (typeof segment === "number") current = Array.isArray(current) ? current[segment] : undefined;
    else current = typeof current === "object" ? (current as Record<string, unknown>)[segment] : undefined;
  }
  return current;
}

const OPERATORS = new Set(["$type", "$absent", "$nonEmpty", "$contains", "$length", "$ieq", "$in", "$nin", "$gte", "$lte", "$some", "$all", "$any"]);

function isOperator(m: Json): m is { [key: string]: Json } {
  return typeof m === "object" && m !== null && !Array.isArray(m) && Object.keys(m).length === 1 && OPERATORS.has(Object.keys(m)[0]!);
}

function jsonType(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

/** Whether an actual value satisfies a README matcher; returns a reason when it does not. */
export function mismatch(actual: unknown, matcher: Json): string | undefined {
  if (!isOperator(matcher)) {
    return isDeepStrictEqual(actual, matcher) ? undefined : `expected ${JSON.stringify(matcher)}, got ${JSON.stringify(actual)}`;
  }
  const [op, arg] = Object.entries(matcher)[0]!;
  const fail = (why: string) => `${why} (matcher ${JSON.stringify(matcher)}, got ${JSON.stringify(actual)})`;
  switch (op) {
    case "$type": {
      const t = jsonType(actual);
      const ok = arg === "number" ? t === "number" || t === "integer" : t === arg;
      return ok ? undefined : fail("wrong type");
    }
    case "$absent":
      return (actual === undefined || actual === null) === arg ? undefined : fail(arg ? "should be absent" : "should be present");
    case "$nonEmpty": {
      const empty = actual === undefined || actual === null || actual === "" ||
        (Array.isArray(actual) && actual.length === 0) ||
        (typeof actual === "object" && actual !== null && !Array.isArray(actual) && Object.keys(actual).length === 0);
      return empty === !arg ? undefined : fail("emptiness");
    }
    case "$contains":
      if (typeof actual === "string" && typeof arg === "string") return actual.includes(arg) ? undefined : fail("does not contain");
      return Array.isArray(actual) && actual.some((e) => isDeepStrictEqual(e, arg)) ? undefined : fail("does not contain");
    case "$length":
      return (Array.isArray(actual) || typeof actual === "string") && actual.length === arg ? undefined : fail("wrong length");
    case "$ieq":
      return typeof actual === "string" && typeof arg === "string" && actual.toLowerCase() === arg.toLowerCase() ? undefined : fail("not equal ignoring case");
    case "$in":
      return Array.isArray(arg) && arg.some((v) => isDeepStrictEqual(actual, v)) ? undefined : fail("not in list");
    case "$nin":
      return actual !== undefined && actual !== null && Array.isArray(arg) && !arg.some((v) => isDeepStrictEqual(actual, v)) ? undefined : fail("in excluded list");
    case "$gte":
      return typeof actual === "number" && typeof arg === "number" && actual >= arg ? undefined : fail("not >=");
    case "$lte":
      return typeof actual === "number" && typeof arg === "number" && actual <= arg ? undefined : fail("not <=");
    case "$some": {
      if (!Array.isArray(actual) || typeof arg !== "object" || arg === null || Array.isArray(arg)) return fail("not an array");
      const ok = actual.some((element) => Object.entries(arg).every(([p, m]) => mismatch(readPath(element, p), m) === undefined));
      return ok ? undefined : fail("no element matches");
    }
    case "$all":
      for (const m of arg as Json[]) {
        const why = mismatch(actual, m);
        if (why) return why;
      }
      return undefined;
    case "$any":
      return (arg as Json[]).some((m) => mismatch(actual, m) === undefined) ? undefined : fail("no alternative matches");
  }
  return fail(`unknown operator ${op}`);
}

export type StepOutcome = { status: number; contentType: string; body: unknown; problems: string[] };

/** Sends one fixture step and checks it against its expectations; saves values into the scope. */
export async function runStep(baseUrl: string, token: string, fixture: Fixture, step: FixtureStep, scope: TemplateScope): Promise<StepOutcome> {
  const headers = new Map<string, [string, string]>();
  const setHeader = (name: string, value: string) => headers.set(name.toLowerCase(), [name, value]);
  for (const [k, v] of Object.entries(fixture.headers ?? {})) setHeader(k, String(scope.resolveString(v)));
  for (const [k, v] of Object.entries(step.request.headers ?? {})) setHeader(k, String(scope.resolveString(v)));
  const auth = step.request.auth ?? "token";
  if (auth === "token") setHeader("Authorization", `Bearer ${token}`);
  if (auth === "invalid") setHeader("Authorization", "Bearer not-a-real-token-0000");
  let payload: string | undefined;
  if (step.request.body !== undefined) payload = JSON.stringify(scope.resolve(step.request.body));
  if (step.request.rawBody !== undefined) payload = String(scope.resolveString(step.request.rawBody));
  if (payload !== undefined && !headers.has("content-type")) setHeader("Content-Type", "application/scim+json");
  const url = new URL(`${baseUrl}/scim/v2${String(scope.resolveString(step.request.path))}`);
  const response = await fetch(url, {
    method: step.request.method,
    headers: Object.fromEntries([...headers.values()]),
    body: payload,
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  const contentType = (response.headers.get("content-type") ?? "").split(";")[0]!.trim();
  const problems: string[] = [];
  const allowed = Array.isArray(step.expect.status) ? step.expect.status : [step.expect.status];
  if (!allowed.includes(response.status)) problems.push(`status ${response.status}, expected ${allowed.join(" or ")}: ${text.slice(0, 500)}`);
  const skipBody = response.status === 204 && allowed.includes(204);
  if (step.expect.contentType && response.status !== 204 && contentType !== step.expect.contentType) {
    problems.push(`content type ${contentType}, expected ${step.expect.contentType}`);
  }
  if (!skipBody && problems.length === 0) {
    for (const [p, matcher] of Object.entries(step.expect.body ?? {})) {
      const why = mismatch(readPath(body, p), scope.resolve(matcher));
      if (why) problems.push(`body ${p || "(whole)"}: ${why}`);
    }
  }
  if (problems.length === 0 && step.save) {
    for (const [name, p] of Object.entries(step.save)) {
      const value = readPath(body, p);
      if (value === undefined || value === null) problems.push(`save ${name}: nothing at ${p}`);
      else scope.set(name, value as Json);
    }
  }
  return { status: response.status, contentType, body, problems };
}
