import { expect } from "chai";
import { isBlockedAddress } from "../../server/webhooks/urlSafety.ts";

/** Addresses a webhook must never reach, each with the reason, and public ones it must reach. */
const BLOCKED: ReadonlyArray<[string, string]> = [
  ["127.0.0.1", "IPv4 loopback"],
  ["169.254.169.254", "cloud metadata"],
  ["::1", "IPv6 loopback"],
  ["::", "unspecified"],
  ["::ffff:127.0.0.1", "IPv4-mapped loopback, dotted"],
  ["::ffff:7f00:1", "IPv4-mapped loopback, hex"],
  ["0:0:0:0:0:ffff:a9fe:a9fe", "IPv4-mapped metadata, uncompressed"],
  ["::7f00:1", "IPv4-compatible loopback"],
  ["::127.0.0.1", "IPv4-compatible loopback, dotted"],
  ["::a00:1", "IPv4-compatible 10.0.0.1"],
  ["::ffff:0:7f00:1", "IPv4-translated loopback (RFC 2765)"],
  ["::ffff:0:a9fe:a9fe", "IPv4-translated metadata"],
  ["64:ff9b::7f00:1", "NAT64 well-known prefix"],
  ["64:ff9b::8.8.8.8", "NAT64 well-known prefix (blocked as a whole)"],
  ["64:ff9b:1::a9fe:a9fe", "local-use NAT64 (RFC 8215) to metadata"],
  ["64:ff9b:1:ffff::1", "local-use NAT64, anywhere in the /48"],
  ["2002:7f00:1::1", "6to4 of 127.0.0.1"],
  ["2002:a9fe:a9fe::", "6to4 of the metadata address"],
  ["2002:c0a8:101:1::5", "6to4 of 192.168.1.1"],
  ["fec0::1", "site-local"],
  ["feff:ffff::1", "site-local, top of fec0::/10"],
  ["fe80::1%eth0", "link-local with a zone id"],
  ["fd00::1", "unique local"],
  ["2001:0:4136:e378:8000:63bf:80ff:fffe", "Teredo whose client is 127.0.0.1 (last 32 bits inverted)"],
  ["2001:0:4136:e378:8000:63bf:5601:5601", "Teredo whose client is 169.254.169.254"],
  ["2001:0:a00:1:8000:63bf:f7f7:f7f7", "Teredo whose server is 10.0.0.1"],
  ["2001:db8::1", "documentation"],
  ["not-an-address", "not an IP address at all"],
];

const PUBLIC: ReadonlyArray<[string, string]> = [
  ["8.8.8.8", "public IPv4"],
  ["2606:4700:4700::1111", "public IPv6"],
  ["::ffff:8.8.8.8", "IPv4-mapped public address"],
  ["2002:808:808::1", "6to4 of 8.8.8.8"],
  ["2001:0:4136:e378:8000:63bf:f7f7:f7f7", "Teredo whose server and client (8.8.8.8) are public"],
  ["2001:4860:4860::8888", "public IPv6 in 2001::/16 outside Teredo"],
];

describe("webhook SSRF blocklist", () => {
  for (const [address, why] of BLOCKED) {
    it(`refuses ${address} (${why})`, () => {
      expect(isBlockedAddress(address)).to.equal(true);
    });
  }
  for (const [address, why] of PUBLIC) {
    it(`allows ${address} (${why})`, () => {
      expect(isBlockedAddress(address)).to.equal(false);
    });
  }
});
