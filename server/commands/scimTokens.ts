import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { QueryTypes, type Sequelize } from "sequelize";
import type { Models, ScimTokenRow } from "../models/index.ts";
import type { Tenant } from "../context.ts";
import { newId } from "../ids.ts";
import { NotFoundError } from "../errors.ts";
import { ensureConnection } from "./enterpriseConnections.ts";
import type { CachedTenant, TenantCache } from "../auth/tenantCache.ts";

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

type TokenLookup = {
  id: string;
  organization_id: string;
  enterprise_connection_id: string;
  token_hash: Buffer;
  last_used_at: Date | null;
  scim_rate_limit: number | null;
  mapping_version: number | null;
};

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
    sequelize
      .query(`UPDATE scim_tokens SET last_used_at = $2 WHERE id = $1`, { bind: [found.tenant.tokenId, now] })
      .catch(onBackgroundError);
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
  const rows = await sequelize.query<TokenLookup>(
    // The mapping version rides along so writes need no extra round trip to find their mapping.
    `SELECT t.id, t.organization_id, t.enterprise_connection_id, t.token_hash, t.last_used_at, o.scim_rate_limit,
            (SELECT max(a.version) FROM attribute_mappings a WHERE a.organization_id = t.organization_id) AS mapping_version
       FROM scim_tokens t JOIN organizations o ON o.id = t.organization_id
      WHERE t.token_hash = $1 AND t.revoked_at IS NULL`,
    { bind: [hash], type: QueryTypes.SELECT },
  );
  const row = rows[0];
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
