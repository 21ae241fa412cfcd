import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from "node:crypto";
import type { Sequelize } from "sequelize";

/*
 * Secrets at rest (directory credentials, webhook signing secrets): AES-256-GCM with a random
 * 96-bit nonce per value. The stored form names its format version and the key it was sealed
 * with, so a key rotation can decrypt old values with the previous key while new ones use the
 * current key:  rcenc:v1:<key id>:<nonce b64url>:<ciphertext b64url>:<tag b64url>
 * The organization id is bound as additional authenticated data, so a value copied into another
 * organization's row does not decrypt.
 */

const PREFIX = "rcenc";
const VERSION = "v1";

/** Thrown when a sealed value cannot be opened (unknown key id, tampered, other organization). */
export class SecretDecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SecretDecryptionError";
  }
}

/** A 32-byte AES key's id: the first 8 bytes of its SHA-256, hex (never the key itself). */
export function keyIdOf(key: Buffer): string {
  return createHash("sha256").update(key).digest("hex").slice(0, 16);
}

/** Decodes ROLLCALL_ENCRYPTION_KEY (standard or url-safe base64 of exactly 32 bytes). */
export function decodeKey(base64: string): Buffer {
  const key = Buffer.from(base64.trim().replace(/-/g, "+").replace(/_/g, "/"), "base64");
  if (key.length !== 32) throw new Error(`an encryption key must be base64 of exactly 32 bytes (got ${key.length})`);
  return key;
}

/** A fresh random key, base64. */
export function generateKey(): string {
  return randomBytes(32).toString("base64");
}

/** The current key (seals) and older keys (still open what they sealed until a rotation re-seals it). */
export class KeyRing {
  readonly currentId: string;
  private readonly keys = new Map<string, Buffer>();

  constructor(current: Buffer, previous: Buffer[] = []) {
    this.currentId = keyIdOf(current);
    for (const key of [current, ...previous]) this.keys.set(keyIdOf(key), key);
  }

  /** Whether the value is in the sealed format (anything else is a legacy plaintext). */
  static isSealed(value: string): boolean {
    return value.startsWith(`${PREFIX}:`);
  }

  /** The key id a sealed value names, or null for a plaintext. */
  static keyIdIn(value: string): string | null {
    return KeyRing.isSealed(value) ? value.split(":")[2] ?? null : null;
  }

  /** Encrypts `plaintext` with the current key, bound to `context` (the owning organization id). */
  seal(plaintext: string, context: string): string {
    const key = this.keys.get(this.currentId)!;
    const nonce = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", key, nonce);
    cipher.setAAD(Buffer.from(context, "utf8"));
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    const b64 = (b: Buffer) => b.toString("base64url");
    return [PREFIX, VERSION, this.currentId, b64(nonce), b64(body), b64(cipher.getAuthTag())].join(":");
  }

  /**
   * Decrypts a sealed value. A value not in the sealed format is returned as it is: webhook secrets
   * written before encryption existed stay usable until the boot step or a rotation seals them.
   */
  open(stored: string, context: string): string {
    if (!KeyRing.isSealed(stored)) return stored;
    const [, version, keyId, nonce, body, tag] = stored.split(":");
    if (version !== VERSION || !keyId || nonce === undefined || body === undefined || tag === undefined) {
      throw new SecretDecryptionError(`stored secret has an unknown format (${version ?? "?"})`);
    }
    const key = this.keys.get(keyId);
    if (!key) throw new SecretDecryptionError(`stored secret was sealed with key ${keyId}, which is not configured (ROLLCALL_ENCRYPTION_KEY / ROLLCALL_ENCRYPTION_KEYS_PREVIOUS)`);
    try {
      const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(nonce, "base64url"));
      decipher.setAAD(Buffer.from(context, "utf8"));
      decipher.setAuthTag(Buffer.from(tag, "base64url"));
      return Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]).toString("utf8");
    } catch {
      throw new SecretDecryptionError("stored secret failed authentication (tampered, or sealed for another organization)");
    }
  }

  /**
   * Keys for another purpose (e.g. "scim-cursor" MACs), derived with HKDF-SHA256 from each key of
   * the ring, current first: the encryption keys themselves never sign anything else, and a value
   * signed before a rotation still verifies while the previous key is listed.
   */
  derivedKeys(purpose: string): Buffer[] {
    return [...this.keys.values()].map((key) => Buffer.from(hkdfSync("sha256", key, Buffer.alloc(0), `rollcall:${purpose}`, 32)));
  }
}

/*
 * The key ring belongs to the process, and the data-access modules that load secrets (webhook
 * endpoints, deliveries, directories) receive a Sequelize instance, not the app deps. Registering
 * the ring per Sequelize instance lets them open secrets where they are loaded without threading
 * a new parameter through the webhook dispatcher's loop; two services in one test process (two
 * instances) keep two rings. A second pool the process opens on the same database (a dispatcher of
 * its own, a lock connection) uses the ring the process attached last.
 */
const rings = new WeakMap<Sequelize, KeyRing>();
let processRing: KeyRing | undefined;

/** Makes `ring` the key ring of everything that uses this Sequelize instance (and of this process's other pools). */
export function attachKeyRing(sequelize: Sequelize, ring: KeyRing): void {
  rings.set(sequelize, ring);
  processRing = ring;
}

/** The key ring attached at boot; throws if the process started without one. */
export function keyRingOf(sequelize: Sequelize): KeyRing {
  const ring = rings.get(sequelize) ?? processRing;
  if (!ring) throw new Error("no encryption key ring attached to this database (startService attaches it at boot)");
  return ring;
}
