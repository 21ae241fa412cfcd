import { expect } from "chai";
import { TenantCache, type CachedTenant } from "../../server/auth/tenantCache.ts";

function found(organizationId: string, tokenId = `scimt_${organizationId}`): CachedTenant {
  return {
    tenant: { organizationId, enterpriseConnectionId: `conn_${organizationId}`, tokenId, rateLimit: 0, mappingVersion: null },
    lastUsedAt: null,
  };
}

/** A cache that is already enabled, as it is while the change feed is listening. */
function enabledCache(options: { ttlMs?: number; maxEntries?: number } = {}): TenantCache {
  const cache = new TenantCache({ ttlMs: options.ttlMs ?? 1_000, maxEntries: options.maxEntries ?? 100 });
  cache.enable();
  return cache;
}

describe("TenantCache", () => {
  describe("enabling and disabling", () => {
    it("is inactive and caches nothing until enabled", () => {
      const cache = new TenantCache({ ttlMs: 1_000, maxEntries: 100 });
      expect(cache.active).to.equal(false);
      cache.set("h1", found("org_a"), 0, cache.startLookup());
      expect(cache.size).to.equal(0);
      expect(cache.get("h1", 1)).to.equal(undefined);
      cache.enable();
      expect(cache.active).to.equal(true);
      expect(cache.get("h1", 1)).to.equal(undefined);
    });

    it("stays inactive with a TTL of 0 even when enabled", () => {
      const cache = new TenantCache({ ttlMs: 0, maxEntries: 100 });
      cache.enable();
      expect(cache.active).to.equal(false);
      cache.set("h1", found("org_a"), 0, cache.startLookup());
      expect(cache.get("h1", 0)).to.equal(undefined);
      expect(cache.size).to.equal(0);
    });

    it("empties itself on disable() and stops caching until enabled again", () => {
      const cache = enabledCache();
      cache.set("h1", found("org_a"), 0, cache.startLookup());
      cache.set("h2", found("org_b"), 0, cache.startLookup());
      expect(cache.size).to.equal(2);
      cache.disable();
      expect(cache.active).to.equal(false);
      expect(cache.size).to.equal(0);
      cache.set("h3", found("org_c"), 0, cache.startLookup());
      expect(cache.size).to.equal(0);
      cache.enable();
      // Nothing from before the outage comes back.
      expect(cache.get("h1", 1)).to.equal(undefined);
      expect(cache.get("h2", 1)).to.equal(undefined);
      cache.set("h3", found("org_c"), 0, cache.startLookup());
      expect(cache.get("h3", 1)?.tenant.organizationId).to.equal("org_c");
    });
  });

  describe("entries and expiry", () => {
    it("returns what was set, until ttlMs after it was set", () => {
      const cache = enabledCache({ ttlMs: 1_000 });
      cache.set("h1", found("org_a"), 10_000, cache.startLookup());
      expect(cache.get("h1", 10_000)?.tenant.organizationId).to.equal("org_a");
      expect(cache.get("h1", 10_999)?.tenant.organizationId).to.equal("org_a");
      expect(cache.get("h1", 11_000)).to.equal(undefined);
      // An expired entry is dropped, not just hidden.
      expect(cache.size).to.equal(0);
      expect(cache.get("h1", 10_500)).to.equal(undefined);
    });

    it("restarts the TTL when an entry is set again", () => {
      const cache = enabledCache({ ttlMs: 1_000 });
      cache.set("h1", found("org_a"), 0, cache.startLookup());
      cache.set("h1", found("org_a"), 800, cache.startLookup());
      expect(cache.get("h1", 1_500)?.tenant.organizationId).to.equal("org_a");
      expect(cache.get("h1", 1_800)).to.equal(undefined);
    });

    it("keeps at most maxEntries, evicting the oldest first", () => {
      const cache = enabledCache({ maxEntries: 3 });
      for (const key of ["h1", "h2", "h3"]) cache.set(key, found(`org_${key}`), 0, cache.startLookup());
      cache.set("h4", found("org_h4"), 0, cache.startLookup());
      expect(cache.size).to.equal(3);
      expect(cache.get("h1", 1)).to.equal(undefined);
      expect(["h2", "h3", "h4"].map((key) => cache.get(key, 1)?.tenant.organizationId)).to.deep.equal(["org_h2", "org_h3", "org_h4"]);
    });

    it("does not evict anything when an existing key is set again at capacity", () => {
      const cache = enabledCache({ maxEntries: 2 });
      cache.set("h1", found("org_a"), 0, cache.startLookup());
      cache.set("h2", found("org_b"), 0, cache.startLookup());
      cache.set("h2", found("org_b"), 5, cache.startLookup());
      expect(cache.size).to.equal(2);
      expect(cache.get("h1", 6)?.tenant.organizationId).to.equal("org_a");
    });

    it("never stores a token by itself: only what a lookup passes to set()", () => {
      const cache = enabledCache();
      expect(cache.get("unknown-hash", 0)).to.equal(undefined);
      expect(cache.get("unknown-hash", 0)).to.equal(undefined);
      cache.touched("unknown-hash", new Date(0));
      expect(cache.size).to.equal(0);
    });
  });

  describe("invalidation", () => {
    it("forgetOrganization drops that organization's entries and keeps the others", () => {
      const cache = enabledCache();
      cache.set("a1", found("org_a", "t1"), 0, cache.startLookup());
      cache.set("a2", found("org_a", "t2"), 0, cache.startLookup());
      cache.set("b1", found("org_b", "t3"), 0, cache.startLookup());
      cache.forgetOrganization("org_a");
      expect(cache.get("a1", 1)).to.equal(undefined);
      expect(cache.get("a2", 1)).to.equal(undefined);
      expect(cache.get("b1", 1)?.tenant.tokenId).to.equal("t3");
      expect(cache.size).to.equal(1);
    });

    it("does not cache a lookup that started before a forgetOrganization()", () => {
      const cache = enabledCache();
      const generation = cache.startLookup();
      // The revocation is heard while the lookup's SELECT is in flight: its answer may predate it.
      cache.forgetOrganization("org_a");
      cache.set("a1", found("org_a"), 0, generation);
      expect(cache.get("a1", 1)).to.equal(undefined);
      expect(cache.size).to.equal(0);
      // A lookup that starts afterwards is cached again.
      cache.set("a1", found("org_a"), 0, cache.startLookup());
      expect(cache.get("a1", 1)?.tenant.organizationId).to.equal("org_a");
    });

    it("does not cache a lookup that started before a disable(), even after enable()", () => {
      const cache = enabledCache();
      const generation = cache.startLookup();
      cache.disable();
      cache.enable();
      cache.set("a1", found("org_a"), 0, generation);
      expect(cache.get("a1", 1)).to.equal(undefined);
      expect(cache.size).to.equal(0);
    });

    // Regression: enable() bumps the generation, so a lookup that started while the feed was down (changes
    // then were announced to nobody) is not cached once it is back.
    it("does not cache a lookup that started while disabled and finished after enable()", () => {
      const cache = new TenantCache({ ttlMs: 1_000, maxEntries: 100 });
      const generation = cache.startLookup();
      cache.enable();
      cache.set("a1", found("org_a"), 0, generation);
      expect(cache.get("a1", 1)).to.equal(undefined);
    });
  });

  describe("last use", () => {
    it("touched() records the new last_used_at on the cached entry", () => {
      const cache = enabledCache();
      cache.set("a1", found("org_a"), 0, cache.startLookup());
      expect(cache.get("a1", 1)?.lastUsedAt).to.equal(null);
      const at = new Date(1_700_000_000_000);
      cache.touched("a1", at);
      expect(cache.get("a1", 2)?.lastUsedAt?.getTime()).to.equal(at.getTime());
      // The tenant itself is untouched.
      expect(cache.get("a1", 2)?.tenant.organizationId).to.equal("org_a");
    });
  });
});
