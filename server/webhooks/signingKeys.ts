import { createPrivateKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import type { Sequelize } from "sequelize";
import { calculateJwkThumbprint, type JWK } from "jose";
import { keyRingOf } from "../crypto/secretBox.ts";
import { activeSigningKey, insertSigningKeyIfNone, publishedSigningKeys, type SigningKeyRow } from "../models/signingKeyQueries.ts";

/*
 * The key pair SCIM security events (SETs) are signed with. Asymmetric, so a receiver verifies with
 * the public key from /.well-known/jwks.json and holds no secret that could forge events.
 * - ES256 (P-256): short signatures, supported by every JOSE library.
 * - The kid is the key's RFC 7638 thumbprint, so it names the key and nothing else.
 * - Generated on first use. Several replicas may race to do so: each inserts its own pair with
 *   ON CONFLICT DO NOTHING and then all read the one row that won, so they sign with the same key.
 * - The private key is stored sealed with the process's key ring (server/crypto/secretBox.ts),
 *   bound to the kid, and re-sealed by `rollcall rotate-encryption-key` like every other secret.
 */

export const SET_SIGNING_ALGORITHM = "ES256";
const PURPOSE = "scim-events";

/** The active signing key, opened: what the SET renderer needs. */
export type SigningKey = { kid: string; algorithm: string; privateKey: KeyObject };

/** A public key as published in the JWKS document. */
export type PublishedJwk = JWK & { kid: string; alg: string; use: "sig" };

async function generateAndStore(sequelize: Sequelize, now: Date): Promise<void> {
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = publicKey.export({ format: "jwk" }) as JWK;
  const kid = await calculateJwkThumbprint(jwk, "sha256");
  const pem = privateKey.export({ format: "pem", type: "pkcs8" }).toString();
  await insertSigningKeyIfNone(
    sequelize,
    { id: kid, purpose: PURPOSE, algorithm: SET_SIGNING_ALGORITHM, publicJwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, sealedPrivateKey: keyRingOf(sequelize).seal(pem, kid) },
    now,
  );
}

async function loadOrCreate(sequelize: Sequelize, now: Date): Promise<SigningKeyRow> {
  const existing = await activeSigningKey(sequelize, PURPOSE);
  if (existing) return existing;
  await generateAndStore(sequelize, now);
  const winner = await activeSigningKey(sequelize, PURPOSE);
  if (!winner) throw new Error("no active webhook signing key after creating one");
  return winner;
}

/** How long a process reuses the key it loaded before looking again (a retirement reaches it within this). */
const CACHE_MS = 5 * 60_000;
const cache = new WeakMap<Sequelize, { loadedAt: number; key: Promise<SigningKey> }>();

/** The active SET signing key, created on first use; cached per database for a few minutes. */
export function activeSetSigningKey(sequelize: Sequelize, now: Date): Promise<SigningKey> {
  const cached = cache.get(sequelize);
  if (cached && Date.now() - cached.loadedAt < CACHE_MS) return cached.key;
  const key = loadOrCreate(sequelize, now).then((row) => ({
    kid: row.id,
    algorithm: row.algorithm,
    privateKey: createPrivateKey(keyRingOf(sequelize).open(row.private_key, row.id)),
  }));
  cache.set(sequelize, { loadedAt: Date.now(), key });
  // A failed load (database away) is not cached: the next delivery tries again.
  key.catch(() => {
    if (cache.get(sequelize)?.key === key) cache.delete(sequelize);
  });
  return key;
}

/**
 * The JWKS document (RFC 7517 §5) of the SET signing keys. The key is created here too if none
 * exists yet, so a receiver can be configured before the first event is sent.
 */
export async function signingKeySet(sequelize: Sequelize, now: Date): Promise<{ keys: PublishedJwk[] }> {
  await loadOrCreate(sequelize, now);
  const rows = await publishedSigningKeys(sequelize, now);
  return { keys: rows.map((row) => ({ ...(row.public_jwk as JWK), kid: row.id, alg: row.algorithm, use: "sig" as const })) };
}
