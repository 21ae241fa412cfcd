import { QueryTypes, type Sequelize } from "sequelize";

/** A live (unrevoked) token with what a request needs to know about its organization. */
export type TokenLookup = {
  id: string;
  organization_id: string;
  enterprise_connection_id: string;
  token_hash: Buffer;
  last_used_at: Date | null;
  scim_rate_limit: number | null;
  mapping_version: number | null;
};

/**
 * The live token with this SHA-256, if any. It runs through sequelize.query, not as a prepared
 * statement: a lookup is cached per process (auth/tenantCache.ts), and the tenant-cache tests hold
 * this exact query on sequelize.query to prove a lookup in flight across a listener reconnect is
 * never cached. The organization's rate limit and current mapping
 * version ride along so a request needs no extra round trip to find them.
 */
export async function liveTokenByHash(sequelize: Sequelize, hash: Buffer): Promise<TokenLookup | undefined> {
  const rows = await sequelize.query<TokenLookup>(
    `SELECT t.id, t.organization_id, t.enterprise_connection_id, t.token_hash, t.last_used_at, o.scim_rate_limit,
            (SELECT max(a.version) FROM attribute_mappings a WHERE a.organization_id = t.organization_id) AS mapping_version
       FROM scim_tokens t JOIN organizations o ON o.id = t.organization_id
      WHERE t.token_hash = $1 AND t.revoked_at IS NULL`,
    { bind: [hash], type: QueryTypes.SELECT },
  );
  return rows[0];
}

/** Records that a token was used (callers do it at most once a minute, off the request path). */
export async function touchScimToken(sequelize: Sequelize, tokenId: string, now: Date): Promise<void> {
  await sequelize.query(`UPDATE scim_tokens SET last_used_at = $2 WHERE id = $1`, { bind: [tokenId, now] });
}
