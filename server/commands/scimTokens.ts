import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Sequelize } from "sequelize";
import type { Models, ScimTokenRow } from "../models/index.ts";
import type { Tenant } from "../context.ts";
import { newId } from "../ids.ts";
import { NotFoundError } from "../errors.ts";
import { ensureConnection } from "./enterpriseConnections.ts";
import type { CachedTenant, TenantCache } from "../auth/tenantCache.ts";
import { liveTokenByHash, touchScimToken } from "../models/scimTokenQueries.ts";

const TOKEN_PREFIX = "scim_";
const PREFIX_LENGTH = 12;

/** SHA-256 of a token; the only form in which a token is stored. */
export function hashToken(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

/** A new token: `scim_` + 256 random bits, base64url. */
export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString("base64url");
}

/** Issues a token for an organization (on its default connection unless one is named); returns the plaintext once. */
export async function issueScimToken(
  sequelize: Sequelize,
  models: Models,
  props: { organizationId: string; name: string; enterpriseConnectionId?: string | undefined },
): Promise<{ row: ScimTokenRow; token: string }> {
  return sequelize.transaction(async (transaction) => {
    const connection = await ensureConnection(models, props.organizationId, props.enterpriseConnectionId, transaction);
    const token = generateToken();
    const created = await models.ScimToken.create(
      {
        id: newId("scimt"),
        organization_id: props.organizationId,
        enterprise_connection_id: connection.id,
        name: props.name,
        prefix: token.slice(0, PREFIX_LENGTH),
        token_hash: hashToken(token),
      },
      { transaction },
    );
    return { row: created.get({ plain: true }), token };
  });
}

/** Revokes a token of the organization; idempotent (revoking twice keeps the first revoked_at). */
export async function revokeScimToken(models: Models, organizationId: string, tokenId: string, now: Date): Promise<ScimTokenRow> {
  const token = await models.ScimToken.findOne({ where: { id: tokenId, organization_id: organizationId } });
  if (!token) throw new NotFoundError("SCIM token", tokenId);
  if (!token.revoked_at) await token.update({ revoked_at: now });
  return token.get({ plain: true });
}

const LAST_USED_GRANULARITY_MS = 60_000;

/**
 * Resolves a presented bearer token to its tenant, or undefined when unknown or revoked. A cached
 * lookup costs no round trip (see TenantCache for how it stays correct). last_used_at is refreshed
 * at most once a minute, off the request path.
 */
export async function authenticateScimToken(
  sequelize: Sequelize,
  cache: TenantCache,
  presented: string,
  defaultRateLimit: number,
  now: Date,
  onBackgroundError: (error: unknown) => void,
): Promise<Tenant | undefined> {
  if (!presented.startsWith(TOKEN_PREFIX) || presented.length > 200) return undefined;
  const hash = hashToken(presented);
  const key = hash.toString("base64");
  const found = cache.get(key, now.getTime()) ?? (await lookUpToken(sequelize, cache, hash, key, defaultRateLimit, now));
  if (!found) return undefined;
  if (!found.lastUsedAt || now.getTime() - found.lastUsedAt.getTime() > LAST_USED_GRANULARITY_MS) {
    cache.touched(key, now);
    touchScimToken(sequelize, found.tenant.tokenId!, now).catch(onBackgroundError);
  }
  return found.tenant;
}

async function lookUpToken(
  sequelize: Sequelize,
  cache: TenantCache,
  hash: Buffer,
  key: string,
  defaultRateLimit: number,
  now: Date,
): Promise<CachedTenant | undefined> {
  const generation = cache.startLookup();
  const row = await liveTokenByHash(sequelize, hash);
  if (!row || !timingSafeEqual(Buffer.from(row.token_hash), hash)) return undefined;
  const found: CachedTenant = {
    // Frozen: a cached tenant is shared by every request that presents the token.
    tenant: Object.freeze({
      organizationId: row.organization_id,
      enterpriseConnectionId: row.enterprise_connection_id,
      tokenId: row.id,
      rateLimit: row.scim_rate_limit ?? defaultRateLimit,
      mappingVersion: row.mapping_version,
    }),
    lastUsedAt: row.last_used_at,
  };
  cache.set(key, found, now.getTime(), generation);
  return found;
}
