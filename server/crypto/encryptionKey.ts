import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Config } from "../config.ts";
import { decodeKey, generateKey, KeyRing } from "./secretBox.ts";

/** Where embedded mode keeps its generated key: current key first, previous keys after it. */
export const keyFile = (config: Config) => path.resolve(config.dataDir, "encryption-key");

async function readKeyFile(file: string): Promise<string[] | null> {
  try {
    return (await readFile(file, "utf8")).split("\n").map((l) => l.trim()).filter((l) => l.length > 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

/**
 * The key ring for secrets at rest: ROLLCALL_ENCRYPTION_KEY (+ ROLLCALL_ENCRYPTION_KEYS_PREVIOUS)
 * when set; otherwise (never in production: config refuses to start) a key generated on first
 * start and kept under the data directory, like the admin key.
 */
export async function resolveEncryptionKeys(config: Config): Promise<{ ring: KeyRing; generated: boolean; file?: string }> {
  if (config.encryption.key) {
    return { ring: new KeyRing(decodeKey(config.encryption.key), config.encryption.previousKeys.map(decodeKey)), generated: false };
  }
  const file = keyFile(config);
  const stored = await readKeyFile(file);
  if (stored && stored.length > 0) return { ring: new KeyRing(decodeKey(stored[0]!), stored.slice(1).map(decodeKey)), generated: false, file };
  await mkdir(config.dataDir, { recursive: true });
  const key = generateKey();
  await writeFile(file, `${key}\n`, { mode: 0o600 });
  return { ring: new KeyRing(decodeKey(key)), generated: true, file };
}

/**
 * Embedded mode's rotation: a new key becomes current, the old ones stay listed (so values not yet
 * re-sealed still open) until `finishFileRotation` drops them after every secret was re-sealed.
 */
export async function startFileRotation(config: Config): Promise<KeyRing> {
  const file = keyFile(config);
  const stored = (await readKeyFile(file)) ?? [];
  const next = [generateKey(), ...stored];
  await writeFile(file, `${next.join("\n")}\n`, { mode: 0o600 });
  return new KeyRing(decodeKey(next[0]!), next.slice(1).map(decodeKey));
}

/** Keeps only the current key in the embedded key file. */
export async function finishFileRotation(config: Config): Promise<void> {
  const file = keyFile(config);
  const stored = (await readKeyFile(file)) ?? [];
  if (stored[0]) await writeFile(file, `${stored[0]}\n`, { mode: 0o600 });
}
