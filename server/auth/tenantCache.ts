import type { Tenant } from "../context.ts";

/** What a token lookup found: the tenant, plus when the token's last_used_at was last written. */
export type CachedTenant = { tenant: Tenant; lastUsedAt: Date | null };

type Entry = CachedTenant & { expiresAt: number };

/**
 * Token lookups of this process, keyed by the token's SHA-256 (never the token itself), so a
 * SCIM request needs no database round trip to find its organization.
 *
 * The cache is only trusted while something tells it about changes: it starts disabled, and is
 * enabled by the owner once a LISTEN on the tenant-change channel is up (see tenantChangeFeed.ts).
 * Losing that connection disables and empties it again. Entries also expire after `ttlMs`, a
 * bound on staleness should a notification ever be missed. Unknown tokens are never cached, so
 * guessing tokens cannot fill it.
 */
export class TenantCache {
  private readonly entries = new Map<string, Entry>();
  private enabled = false;
  /** Bumped by every invalidation; a lookup that started before one must not fill the cache. */
  private generation = 0;

  constructor(private readonly options: { ttlMs: number; maxEntries: number }) {}

  get active(): boolean {
    return this.enabled && this.options.ttlMs > 0;
  }

  enable(): void {
    // A lookup that started while the feed was down may have read a token revoked since, unheard.
    this.generation++;
    this.enabled = true;
  }

  /** Stops using the cache (the change feed is down) and forgets everything in it. */
  disable(): void {
    this.enabled = false;
    this.generation++;
    this.entries.clear();
  }

  /**
   * Call before reading a token from the database and pass the result to set(). A revocation
   * heard while the read was in flight bumps the generation, so the read's (possibly stale) answer
   * is not cached.
   */
  startLookup(): number {
    return this.generation;
  }

  get(tokenHash: string, nowMs: number): CachedTenant | undefined {
    if (!this.active) return undefined;
    const entry = this.entries.get(tokenHash);
    if (!entry) return undefined;
    if (entry.expiresAt <= nowMs) {
      this.entries.delete(tokenHash);
      return undefined;
    }
    return entry;
  }

  set(tokenHash: string, value: CachedTenant, nowMs: number, lookupGeneration: number): void {
    if (!this.active || lookupGeneration !== this.generation) return;
    if (this.entries.size >= this.options.maxEntries && !this.entries.has(tokenHash)) {
      // Maps iterate in insertion order: the first key is the oldest entry.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(tokenHash, { ...value, expiresAt: nowMs + this.options.ttlMs });
  }

  /** Records that this process just wrote the token's last_used_at. */
  touched(tokenHash: string, at: Date): void {
    const entry = this.entries.get(tokenHash);
    if (entry) entry.lastUsedAt = at;
  }

  /** Drops every entry of an organization (its tokens, rate limit or mapping changed). */
  forgetOrganization(organizationId: string): void {
    this.generation++;
    for (const [key, entry] of this.entries) {
      if (entry.tenant.organizationId === organizationId) this.entries.delete(key);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
