import type { Sequelize } from "sequelize";
import { execute, select } from "./sql.ts";

/**
 * The SQL of the keys Rollcall signs SCIM security events with (migrations/20261208020000).
 * `private_key` is stored sealed; opening it is server/webhooks/signingKeys.ts's business.
 */

/** A webhook_signing_keys row. */
export type SigningKeyRow = {
  id: string;
  purpose: string;
  algorithm: string;
  public_jwk: Record<string, unknown>;
  private_key: string;
  created_at: Date;
  retired_at: Date | null;
};

/** The active key of a purpose, if one exists. */
export async function activeSigningKey(sequelize: Sequelize, purpose: string): Promise<SigningKeyRow | undefined> {
  const rows = await select<SigningKeyRow>(sequelize, `SELECT * FROM webhook_signing_keys WHERE purpose = $1 AND retired_at IS NULL`, [purpose]);
  return rows[0];
}

/**
 * Inserts a key as the purpose's active one unless another process got there first (the partial
 * unique index on purpose decides); the caller then reads whichever row won.
 */
export async function insertSigningKeyIfNone(
  sequelize: Sequelize,
  key: { id: string; purpose: string; algorithm: string; publicJwk: Record<string, unknown>; sealedPrivateKey: string },
  now: Date,
): Promise<void> {
  await execute(
    sequelize,
    `INSERT INTO webhook_signing_keys (id, purpose, algorithm, public_jwk, private_key, created_at)
     VALUES ($1, $2, $3, $4::jsonb, $5, $6)
     ON CONFLICT DO NOTHING`,
    [key.id, key.purpose, key.algorithm, JSON.stringify(key.publicJwk), key.sealedPrivateKey, now],
  );
}

/** Keys receivers may still meet: the active ones, and retired ones for a day after retirement. */
export async function publishedSigningKeys(sequelize: Sequelize, now: Date): Promise<SigningKeyRow[]> {
  return select<SigningKeyRow>(
    sequelize,
    `SELECT * FROM webhook_signing_keys WHERE retired_at IS NULL OR retired_at > $1::timestamptz - interval '1 day' ORDER BY created_at, id`,
    [now],
  );
}
