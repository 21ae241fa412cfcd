import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from "node:dns";
import { BlockList, isIP } from "node:net";
import { embeddedIpv4, ipv6Groups } from "./embeddedIpv4.ts";

/**
 * Destinations a webhook must never reach in production: the host itself, the cluster network and
 * cloud metadata services (SSRF). IPv6 forms that embed an IPv4 address are checked by that
 * address (isBlockedAddress), whatever their spelling.
 */
const blocked = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8], // "this network", incl. the unspecified address
  ["10.0.0.0", 8],
  ["100.64.0.0", 10], // carrier-grade NAT
  ["127.0.0.0", 8],
  ["169.254.0.0", 16], // link-local, cloud metadata
  ["172.16.0.0", 12],
  ["192.0.0.0", 24], // IETF protocol assignments
  ["192.168.0.0", 16],
  ["198.18.0.0", 15], // benchmarking
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, incl. broadcast
] as const) {
  blocked.addSubnet(network, prefix, "ipv4");
}
for (const [network, prefix] of [
  ["::", 128], // unspecified
  ["::1", 128], // loopback
  ["64:ff9b::", 96], // NAT64 can reach private IPv4
  ["64:ff9b:1::", 48], // local-use NAT64 (RFC 8215): translated inside the operator's network
  ["100::", 64], // discard-only
  ["2001:db8::", 32], // documentation
  ["fc00::", 7], // unique local
  ["fec0::", 10], // site-local (deprecated, still routed inside some networks)
  ["fe80::", 10], // link-local
  ["ff00::", 8], // multicast
] as const) {
  blocked.addSubnet(network, prefix, "ipv6");
}

/** Whether an IP address is loopback, private, link-local, CGNAT, unique-local, unspecified or otherwise not public. */
export function isBlockedAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  if (family === 4) return blocked.check(address, "ipv4");
  const groups = ipv6Groups(address);
  if (!groups) return true;
  const normalised = groups.map((group) => group.toString(16)).join(":");
  return blocked.check(normalised, "ipv6") || embeddedIpv4(groups).some((ipv4) => blocked.check(ipv4, "ipv4"));
}

/** Thrown when a webhook URL's host is, or resolves to, an address that is not allowed. */
export class BlockedDestinationError extends Error {
  constructor(readonly host: string, readonly address: string) {
    super(`${host} resolves to ${address}, which is not a public address`);
    this.name = "BlockedDestinationError";
  }
}

/** The URL's host without IPv6 brackets, as DNS and isIP expect it. */
export function urlHost(url: URL): string {
  return url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
}

/** Resolves a host to all its addresses (an IP literal resolves to itself). */
async function resolveAll(host: string): Promise<LookupAddress[]> {
  if (isIP(host)) return [{ address: host, family: isIP(host) }];
  return new Promise((resolve, reject) => {
    dnsLookup(host, { all: true, verbatim: true }, (error, addresses) => (error ? reject(error) : resolve(addresses)));
  });
}

/** Rejects a URL whose host is or resolves to a blocked address; DNS failures propagate. */
export async function assertPublicDestination(url: URL): Promise<void> {
  const host = urlHost(url);
  for (const { address } of await resolveAll(host)) {
    if (isBlockedAddress(address)) throw new BlockedDestinationError(host, address);
  }
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for http.request that refuses blocked addresses. The check runs on the very addresses
 * the socket connects to, so a DNS answer that changes between a check and the connection (DNS
 * rebinding) cannot slip through.
 */
export function publicOnlyLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    const bad = addresses.find((a) => isBlockedAddress(a.address));
    if (bad) return callback(Object.assign(new BlockedDestinationError(hostname, bad.address), { code: "EBLOCKED" }), []);
    if (options.all) return callback(null, addresses);
    const first = addresses[0];
    if (!first) return callback(Object.assign(new Error(`${hostname} has no addresses`), { code: "ENOTFOUND" }), []);
    callback(null, first.address, first.family);
  });
}
