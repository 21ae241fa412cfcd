/**
 * IPv6 addresses that carry an IPv4 address inside them, and the IPv4 address each one reaches.
 * An SSRF check that looks only at the IPv6 prefix lets `::7f00:1` or `2002:7f00:1::1` through to
 * 127.0.0.1 wherever the host or a relay translates them; checking the embedded IPv4 address
 * against the IPv4 blocklist closes that.
 */

/** The eight 16-bit groups of an IPv6 address, or undefined when it is not one. */
export function ipv6Groups(address: string): number[] | undefined {
  const bare = address.split("%")[0]!; // a zone id (fe80::1%eth0) names an interface, not an address
  let host: string;
  try {
    // WHATWG URL parsing validates the address and rewrites an embedded dotted quad as hex groups.
    host = new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
  const [head = "", tail] = host.split("::");
  const parse = (part: string) => (part === "" ? [] : part.split(":").map((group) => Number.parseInt(group, 16)));
  const front = parse(head);
  const back = tail === undefined ? [] : parse(tail);
  const groups = [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
  return groups.length === 8 && groups.every((group) => Number.isInteger(group) && group >= 0 && group <= 0xffff) ? groups : undefined;
}

function dottedQuad(high: number, low: number): string {
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join(".");
}

const isZero = (groups: number[]) => groups.every((group) => group === 0);

/**
 * The IPv4 addresses an IPv6 address embeds, by the standard forms: IPv4-compatible (`::a.b.c.d`,
 * RFC 4291), IPv4-mapped (`::ffff:a.b.c.d`), IPv4-translated (`::ffff:0:a.b.c.d`, RFC 2765), the
 * NAT64 well-known prefix (`64:ff9b::/96`, RFC 6052), 6to4 (`2002:AABB:CCDD::/48`, RFC 3056) and
 * Teredo (`2001:0::/32`, RFC 4380: the server's address in bits 32-63, the client's as the last 32
 * bits inverted). Empty for any other address.
 */
export function embeddedIpv4(groups: readonly number[]): string[] {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, , , g6 = 0, g7 = 0] = groups;
  const last = dottedQuad(g6, g7);
  const first5 = groups.slice(0, 5);
  if (isZero(first5) && (groups[5] === 0 || groups[5] === 0xffff)) return [last];
  if (isZero(groups.slice(0, 4)) && groups[4] === 0xffff && groups[5] === 0) return [last];
  if (g0 === 0x64 && g1 === 0xff9b && isZero(groups.slice(2, 6))) return [last];
  if (g0 === 0x2002) return [dottedQuad(g1, g2)];
  if (g0 === 0x2001 && g1 === 0) return [dottedQuad(g2, g3), dottedQuad(g6 ^ 0xffff, g7 ^ 0xffff)];
  return [];
}
