/** Reads one attribute of a node; on an array it reads every element (SCIM multi-valued semantics). */
export type AttributeGetter = (node: unknown) => unknown;

/** True for a non-null, non-array object. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Builds a case-insensitive getter for one attribute name; JSON null reads as absent. */
export function attributeGetter(name: string): AttributeGetter {
  const lowerName = name.toLowerCase();
  // IdPs are consistent in their spelling, so remembering the last one seen turns the
  // case-insensitive scan into a single hash lookup on the hot path.
  let seenSpelling = name;
  const readOne = (node: unknown): unknown => {
    if (!isRecord(node)) return undefined;
    if (Object.hasOwn(node, seenSpelling)) return node[seenSpelling] ?? undefined;
    for (const key in node) {
      if (key.length === lowerName.length && Object.hasOwn(node, key) && key.toLowerCase() === lowerName) {
        seenSpelling = key;
        return node[key] ?? undefined;
      }
    }
    return undefined;
  };
  return (node) => {
    if (!Array.isArray(node)) return readOne(node);
    const values: unknown[] = [];
    for (const element of node) {
      const value = readOne(element);
      if (value === undefined) continue;
      if (Array.isArray(value)) values.push(...value);
      else values.push(value);
    }
    return values;
  };
}

/** Copies a JSON value so callers can mutate results without touching the source user. */
export function cloneJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(cloneJson);
  if (isRecord(value)) {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (item !== undefined) Object.defineProperty(copy, key, { value: cloneJson(item), enumerable: true, writable: true, configurable: true });
    }
    return copy;
  }
  return value;
}
