import type { FuzzCorpus, Json } from "./fuzzCorpus.ts";
import type { Rng } from "./random.ts";

/** One request as it goes on the wire; `body` is bytes so it can be invalid UTF-8 or truncated JSON. */
export type FuzzRequest = { method: string; path: string; headers: Record<string, string>; body: Buffer | undefined; chunked: boolean };

/** What the fuzzer knows about the tenant under test; ids grow as creates succeed. */
export type FuzzTargets = {
  token: string;
  /** A valid token of another organization: its ids must stay invisible. */
  otherToken: string;
  userIds: string[];
  groupIds: string[];
  /** Ids of another organization (users, groups). */
  foreignIds: string[];
};

const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@+";
const NASTY_STRINGS = [
  "", " ", "\u0000", "\u0000abc", "\ud800", "\udfff\ud800", "😀", "a\u202eb", "\r\n", "\\", "\"", "'", "%", "%00", "%ZZ", "../..", "null",
  "true", "False", "0", "-1", "1e309", "NaN", "Infinity", "{{value}}", "{% raw %}", "<script>", "' OR 1=1 --", "$1", "?", "urn:", "eq", "[", "]",
  "\u00ff", "\ufeff", "A".repeat(600), "é".repeat(300),
];
const PATHS = [undefined, "active", "title", "userName", "emails", 'emails[type eq "work"].value', "name.givenName", "name", "members", 'members[value eq "x"]',
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.department",
  "groups", "displayName", "externalId", "id", "meta.created", "schemas", "", "x[", "emails[", 'emails[type eq "work"', "a.b.c.d", "phoneNumbers[type eq \"work\"].value"];
const CONTENT_TYPES = ["application/json", "application/scim+json; charset=utf-8", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
  "", "application/scim+json;;;", "*/*", "application/xml", "APPLICATION/SCIM+JSON", "application/json; charset=latin1", "application/scim+json, text/plain", "\u00e9/\u00e9"];
const METHODS = ["GET", "GET", "GET", "GET", "POST", "POST", "POST", "PATCH", "PATCH", "PATCH", "PUT", "PUT", "DELETE", "HEAD", "OPTIONS", "TRACE", "PROPFIND", "FOO"];
const QUERY_KEYS = ["filter", "attributes", "excludedAttributes", "startIndex", "count", "sortBy", "sortOrder", "Filter", "COUNT", "startindex", "excludedattributes", "x", ""];

/** Stands for "an id the fuzzer knows" inside generated JSON; swapped for a real one when serialised. */
const KNOWN_ID_PLACEHOLDER = "__KNOWN_ID__";

export type FuzzGenerator = { next(targets: FuzzTargets): FuzzRequest };

/** Creates a request generator over the corpus, driven by the seeded PRNG only (a seed replays a run). */
export function createFuzzGenerator(corpus: FuzzCorpus, rng: Rng): FuzzGenerator {
  const word = (max = 12) => Array.from({ length: rng.int(1, max) }, () => rng.pick([...ALPHABET])).join("");
  const weirdString = (): string => {
    switch (rng.int(0, 5)) {
      case 0:
        return rng.pick(NASTY_STRINGS);
      case 1:
        return String.fromCharCode(...Array.from({ length: rng.int(0, 20) }, () => rng.int(0, 0xffff)));
      case 2:
        return word(40);
      case 3:
        return `${word()}@${word()}.com`;
      default:
        return word(8);
    }
  };
  const randomJson = (depth = 0): Json => {
    const kind = rng.int(0, depth > 3 ? 3 : 6);
    if (kind === 0) return null;
    if (kind === 1) return rng.chance(0.5);
    if (kind === 2) return rng.pick([0, -1, 1, 2 ** 53, -(2 ** 63), 1e308, 0.5, 42]);
    if (kind === 3) return weirdString();
    if (kind === 4) return Array.from({ length: rng.int(0, 4) }, () => randomJson(depth + 1));
    const object: { [key: string]: Json } = {};
    for (let i = rng.int(0, 4); i > 0; i--) object[rng.chance(0.7) ? rng.pick(["value", "display", "type", "primary", "op", "path", "schemas", "userName", "members", "active", "name", "emails", "$ref"]) : weirdString()] = randomJson(depth + 1);
    return object;
  };
  const knownId = (targets: FuzzTargets): string => {
    const pools = [targets.userIds, targets.groupIds, targets.foreignIds].filter((p) => p.length > 0);
    return pools.length > 0 ? rng.pick(rng.pick(pools)) : word(26);
  };

  const serialize = (value: Json, targets: FuzzTargets): Buffer =>
    Buffer.from(JSON.stringify(value).replaceAll(JSON.stringify(KNOWN_ID_PLACEHOLDER), () => JSON.stringify(knownId(targets))));

  /** Resolves the fixtures' {{templates}}: unique names so creates succeed, known ids where one is expected. */
  const resolveTemplates = (value: Json, targets: FuzzTargets): Json => {
    if (typeof value === "string") {
      return value.replace(/\{\{([^{}]+)\}\}/g, (_m, name: string) => (/id$/i.test(name.trim()) && rng.chance(0.7) ? knownId(targets) : `fz${word(10)}`));
    }
    if (Array.isArray(value)) return value.map((v) => resolveTemplates(v, targets));
    if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveTemplates(v, targets)]));
    return value;
  };

  /** One structural mutation somewhere in the value: drop, retype, replace, duplicate, nest, recase a key. */
  const mutate = (value: Json, depth = 0): Json => {
    if (Array.isArray(value)) {
      if (value.length === 0 || rng.chance(0.2)) return rng.chance(0.5) ? [...value, randomJson()] : randomJson();
      const copy = [...value];
      const i = rng.int(0, copy.length - 1);
      if (rng.chance(0.15)) copy.splice(i, 1);
      else if (rng.chance(0.1)) copy.push(...Array.from({ length: rng.int(1, 50) }, () => copy[i]!));
      else copy[i] = mutate(copy[i]!, depth + 1);
      return copy;
    }
    if (value && typeof value === "object") {
      const keys = Object.keys(value);
      if (keys.length === 0 || depth > 6 || rng.chance(0.1)) return rng.chance(0.5) ? { ...value, [weirdString()]: randomJson() } : randomJson();
      const key = rng.pick(keys);
      const copy: { [key: string]: Json } = { ...value };
      const roll = rng.int(0, 9);
      if (roll === 0) delete copy[key];
      else if (roll === 1) {
        copy[rng.chance(0.5) ? key.toUpperCase() : key.toLowerCase()] = copy[key]!;
        delete copy[key];
      } else if (roll === 2) copy[key] = randomJson();
      else if (roll === 3) copy[key] = [copy[key]!];
      else if (roll === 4) copy[key] = { value: copy[key]! };
      else copy[key] = mutate(copy[key]!, depth + 1);
      return copy;
    }
    if (typeof value === "string") {
      const roll = rng.int(0, 4);
      if (roll === 0) return weirdString();
      if (roll === 1) return value + weirdString();
      if (roll === 2) return value.slice(0, rng.int(0, value.length));
      if (roll === 3) return value.repeat(rng.int(2, 40));
      return randomJson();
    }
    return rng.chance(0.5) ? randomJson() : weirdString();
  };

  const patchBody = (): Json => ({
    schemas: rng.chance(0.9) ? [PATCH_OP] : randomJson(),
    Operations: Array.from({ length: rng.int(0, 4) }, () => {
      const op: { [key: string]: Json } = { op: rng.chance(0.8) ? rng.pick(["add", "replace", "remove", "Add", "Replace", "REMOVE"]) : weirdString() };
      const p = rng.pick(PATHS);
      if (p !== undefined) op.path = rng.chance(0.85) ? p : weirdString();
      if (rng.chance(0.85)) op.value = rng.chance(0.3) ? [{ value: KNOWN_ID_PLACEHOLDER }] : randomJson();
      return op;
    }),
  });
  const filter = (): string => {
    const base = rng.pick(corpus.filters);
    switch (rng.int(0, 7)) {
      case 0:
        return base;
      case 1: {
        const at = rng.int(0, base.length);
        return base.slice(0, at) + weirdString().slice(0, 3) + base.slice(at + rng.int(0, 3));
      }
      case 2:
        return `${base} ${rng.pick(["and", "or", "AND", "and not", ""])} ${rng.pick(corpus.filters)}`;
      case 3:
        return "(".repeat(rng.int(1, 60)) + base + ")".repeat(rng.int(0, 60));
      case 4:
        return base.slice(0, rng.int(0, base.length));
      case 5:
        return Array.from({ length: rng.int(2, 120) }, () => rng.pick(corpus.filters)).join(rng.pick([" or ", " and "]));
      case 6:
        return weirdString();
      default:
        return base.replace(/"[^"]*"/, JSON.stringify(weirdString()));
    }
  };

  const encode = (text: string): string => (rng.chance(0.9) ? encodeURIComponent(text) : text.replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(c)).replace(/[#?&]/g, "%23"));
  const safeEncode = (text: string): string => {
    try {
      return encode(text);
    } catch {
      // Lone surrogates cannot be percent-encoded as UTF-8: send their code units' latin1 bytes instead.
      return Array.from(text, (c) => `%${(c.charCodeAt(0) & 0xff).toString(16).padStart(2, "0")}`).join("");
    }
  };

  const queryString = (): string => {
    if (rng.chance(0.35)) return "";
    if (rng.chance(0.05)) return `?${rng.pick(["%ZZ", "&&&", "filter=%C3%28", "filter", "=x", "filter=a&filter=b", "count=1&count=2", "filter=%00", "%"])}`;
    const params = Array.from({ length: rng.int(1, 4) }, () => {
      const key = rng.pick(QUERY_KEYS);
      const lower = key.toLowerCase();
      let value: string;
      if (lower === "filter") value = filter();
      else if (lower === "startindex" || lower === "count") value = rng.pick(["1", "0", "-5", "100", "2147483648", "1e309", "1.5", "abc", "", " 7 ", "99999999999999999999", "0x10"]);
      else if (lower === "sortorder") value = rng.pick(["ascending", "DESCENDING", "sideways", ""]);
      else if (lower === "sortby") value = rng.pick(["userName", "meta.created", "emails.value", "name.familyName", "displayName", "members", weirdString()]);
      else value = rng.chance(0.5) ? rng.pick(["members", "userName,emails", "groups", "name.givenName", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "meta", "id"]) : weirdString();
      return `${encode(key)}=${safeEncode(value)}`;
    });
    return `?${params.join("&")}`;
  };

  const resourcePath = (targets: FuzzTargets): string => {
    const idSegment = () => {
      const roll = rng.int(0, 9);
      if (roll <= 4) return knownId(targets);
      if (roll === 5) return `${rng.pick(["user_", "team_", "scimt_", "whep_", ""])}${word(26).toUpperCase()}`;
      if (roll === 6) return safeEncode(weirdString());
      if (roll === 7) return rng.pick(["..", "%2e%2e", "..%2f..%2fv1%2forganizations", "%2F", "%00", ".search", "%C0%AF", "%FF%FE", "x".repeat(3000)]);
      if (roll === 8) return knownId(targets).toLowerCase();
      return `${knownId(targets)}${rng.pick(["/", "/x", "%20", "?"])}`;
    };
    const fromFixture = () => rng.pick(corpus.paths).split("?")[0]!.replace(/\{\{[^{}]+\}\}/g, () => idSegment());
    const prefix = rng.chance(0.93) ? "/scim/v2" : rng.pick(["/scim/v2/", "/scim/V2", "/scim", "/scim/v1", "/SCIM/v2", "/scim/v2//", "/scim/v2/.", "/scim/v2/../v1"]);
    const resource = rng.pick([
      () => "/Users", () => "/Users", () => `/Users/${idSegment()}`, () => `/Users/${idSegment()}`, () => "/Groups", () => `/Groups/${idSegment()}`,
      () => `/Groups/${idSegment()}`, () => "/Users/.search", () => "/Groups/.search", () => "/ServiceProviderConfig", () => "/ResourceTypes",
      () => `/ResourceTypes/${rng.pick(["User", "Group", "x"])}`, () => "/Schemas", () => `/Schemas/${rng.pick(["urn:ietf:params:scim:schemas:core:2.0:User", "urn:x", "%00"])}`,
      () => "/Bulk", () => "/Me", () => `/${safeEncode(weirdString())}`, fromFixture, fromFixture, () => "",
    ])();
    return prefix + resource;
  };

  const body = (method: string, targets: FuzzTargets): { bytes: Buffer | undefined; json: boolean } => {
    if (method === "GET" || method === "DELETE" || method === "HEAD" || method === "OPTIONS" || method === "TRACE") {
      return rng.chance(0.03) ? { bytes: Buffer.from(JSON.stringify(randomJson())), json: true } : { bytes: undefined, json: false };
    }
    const roll = rng.int(0, 99);
    let value: Json;
    if (roll < 15) value = resolveTemplates(rng.pick(corpus.bodies), targets);
    else if (roll < 55) {
      value = resolveTemplates(rng.pick(corpus.bodies), targets);
      for (let i = rng.int(1, 3); i > 0; i--) value = mutate(value);
    } else if (roll < 75) value = patchBody();
    else if (roll < 85) value = randomJson();
    else if (roll < 88) value = { filter: filter(), startIndex: rng.int(-2, 5), count: rng.int(-1, 300), attributes: rng.pick([["userName"], "members", 5]) };
    else if (roll < 92) return { bytes: Buffer.from(rng.pick(corpus.rawBodies.length > 0 ? corpus.rawBodies : ["{"])), json: false };
    else if (roll < 96) {
      // Truncated, byte-flipped or invalid-UTF-8 JSON.
      const text = Buffer.from(JSON.stringify(resolveTemplates(rng.pick(corpus.bodies), targets)));
      const cut = text.subarray(0, rng.int(0, text.length));
      if (rng.chance(0.5) && cut.length > 0) cut[rng.int(0, cut.length - 1)] = rng.pick([0xff, 0xc3, 0x00, 0x80, 0x22, 0x7b]);
      return { bytes: cut, json: false };
    } else if (roll < 98) return { bytes: Buffer.alloc(0), json: false };
    else {
      const depth = rng.int(30, 5_000);
      return { bytes: Buffer.from(`${"[".repeat(depth)}${"]".repeat(depth)}`), json: true };
    }
    return { bytes: serialize(value, targets), json: true };
  };

  const headerValue = (): string => Array.from({ length: rng.int(0, 40) }, () => String.fromCharCode(rng.chance(0.9) ? rng.int(0x20, 0x7e) : rng.int(0x80, 0xff))).join("");


  /** A request whose method, path and body belong together, so it reaches the commands, not just the router. */
  const coherent = (targets: FuzzTargets): { method: string; path: string; bytes: Buffer | undefined } => {
    const kind = rng.chance(0.6) ? "user" : "group";
    const collection = kind === "user" ? "/scim/v2/Users" : "/scim/v2/Groups";
    const own = kind === "user" ? targets.userIds : targets.groupIds;
    const id = own.length > 0 && rng.chance(0.85) ? rng.pick(own) : knownId(targets);
    const resourceValue = (of: "user" | "group" = kind): Json => {
      let value = resolveTemplates(rng.pick(corpus.byKind[of].length > 0 ? corpus.byKind[of] : corpus.bodies), targets);
      for (let i = rng.chance(0.5) ? rng.int(1, 3) : 0; i > 0; i--) value = mutate(value);
      return value;
    };
    const resourceBody = () => serialize(resourceValue(), targets);
    const patchValue = (): Json => {
      if (corpus.byKind.patch.length > 0 && rng.chance(0.5)) {
        let value = resolveTemplates(rng.pick(corpus.byKind.patch), targets);
        for (let i = rng.chance(0.5) ? rng.int(1, 2) : 0; i > 0; i--) value = mutate(value);
        return value;
      }
      return patchBody();
    };
    const patch = () => serialize(patchValue(), targets);
    /**
     * A BulkRequest of up to six operations on users and groups, with bulkIds, references to them
     * (forward, unknown, circular, in paths and member values) and versions, sometimes mutated.
     */
    const bulkBody = () => {
      const count = rng.int(1, 6);
      const reference = () => `bulkId:b${rng.int(0, count)}`;
      const operations: Json[] = Array.from({ length: count }, (_, i) => {
        const of = rng.chance(0.5) ? "user" : "group";
        const endpoint = of === "user" ? "/Users" : "/Groups";
        const target = rng.chance(0.3) ? reference() : rng.chance(0.85) ? KNOWN_ID_PLACEHOLDER : word(26);
        const version: { [key: string]: Json } = rng.chance(0.2) ? { version: rng.pick(['W/"1"', 'W/"2"', "*", '"x"', "", word()]) } : {};
        switch (rng.pick(["POST", "POST", "POST", "PUT", "PATCH", "PATCH", "DELETE"])) {
          case "POST": {
            const data = resourceValue(of);
            if (of === "group" && data && typeof data === "object" && !Array.isArray(data) && rng.chance(0.6)) {
              data.members = Array.from({ length: rng.int(1, 3) }, () => ({ value: rng.chance(0.7) ? reference() : KNOWN_ID_PLACEHOLDER }));
            }
            return { method: "POST", path: endpoint, ...(rng.chance(0.9) ? { bulkId: `b${i}` } : {}), data };
          }
          case "PUT":
            return { method: "PUT", path: `${endpoint}/${target}`, ...version, data: resourceValue(of) };
          case "PATCH":
            return { method: "PATCH", path: `${endpoint}/${target}`, ...version, data: patchValue() };
          default:
            return { method: "DELETE", path: `${endpoint}/${target}`, ...version };
        }
      });
      let value: Json = {
        schemas: ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        ...(rng.chance(0.3) ? { failOnErrors: rng.pick([1, 2, 0, -1, 1.5, "1"]) } : {}),
        Operations: operations,
      };
      if (rng.chance(0.2)) value = mutate(value);
      return serialize(value, targets);
    };
    switch (rng.pick(["list", "list", "get", "get", "create", "create", "create", "replace", "patch", "patch", "patch", "search", "delete", "bulk"])) {
      case "list":
        return { method: "GET", path: collection + queryString(), bytes: undefined };
      case "get":
        return { method: "GET", path: `${collection}/${id}${rng.chance(0.3) ? queryString() : ""}`, bytes: undefined };
      case "create":
        return { method: "POST", path: collection, bytes: resourceBody() };
      case "replace":
        return { method: "PUT", path: `${collection}/${id}`, bytes: resourceBody() };
      case "patch":
        return { method: "PATCH", path: `${collection}/${id}`, bytes: patch() };
      case "bulk":
        return { method: "POST", path: "/scim/v2/Bulk", bytes: bulkBody() };
      case "search":
        return { method: "POST", path: `${collection}/.search`, bytes: serialize({ schemas: ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], filter: filter(), startIndex: rng.int(-2, 5), count: rng.int(-1, 50) }, targets) };
      default:
        return { method: "DELETE", path: `${collection}/${id}`, bytes: undefined };
    }
  };

  return {
    next(targets) {
      let method: string;
      let path: string;
      let bytes: Buffer | undefined;
      let json = true;
      if (rng.chance(0.6)) {
        ({ method, path, bytes } = coherent(targets));
      } else {
        method = rng.pick(METHODS);
        path = resourcePath(targets) + queryString();
        ({ bytes, json } = body(method, targets));
      }
      const headers: Record<string, string> = {};
      const auth = rng.int(0, 99);
      if (auth < 85) headers.Authorization = `Bearer ${targets.token}`;
      else if (auth < 89) headers.Authorization = `Bearer ${targets.otherToken}`;
      else if (auth < 92) headers.Authorization = rng.pick(["Bearer", "Bearer ", "bearer " + targets.token, "Basic dXNlcjpwYXNz", `Bearer ${targets.token}x`, "Bearer " + "A".repeat(8_000)]);
      else if (auth < 95) headers.Authorization = headerValue();
      if (bytes !== undefined) headers["Content-Type"] = rng.chance(0.85) ? (json ? "application/scim+json" : rng.pick(["application/scim+json", "application/json"])) : rng.pick(CONTENT_TYPES);
      if (rng.chance(0.05)) headers["If-Match"] = rng.pick(['W/"1"', "*", 'W/"999"', "garbage", '"1", W/"2"', headerValue()]);
      if (rng.chance(0.05)) headers.Accept = rng.pick(["application/scim+json", "text/html", "*/*", headerValue()]);
      if (rng.chance(0.03)) headers["Content-Encoding"] = rng.pick(["gzip", "deflate", "br", "identity"]);
      if (rng.chance(0.05)) headers[`X-Fuzz-${Array.from({ length: rng.int(1, 8) }, () => rng.pick([..."abcdefghijklmnopqrstuvwxyz0123456789"])).join("")}`] = headerValue();
      return { method, path, headers, body: bytes, chunked: bytes !== undefined && rng.chance(0.1) };
    },
  };
}
