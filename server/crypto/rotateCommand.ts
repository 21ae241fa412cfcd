import type { Config } from "../config.ts";
import type { Logger } from "../logger.ts";
import { openDatabase } from "../db/database.ts";
import { migrateUp } from "../db/migrator.ts";
import { finishFileRotation, resolveEncryptionKeys, startFileRotation } from "./encryptionKey.ts";
import { resealSecrets } from "./resealSecrets.ts";

/**
 * `rollcall rotate-encryption-key`: re-seals every stored secret with the current key.
 * - With ROLLCALL_ENCRYPTION_KEY set (production): first deploy the new key as
 *   ROLLCALL_ENCRYPTION_KEY and the old one in ROLLCALL_ENCRYPTION_KEYS_PREVIOUS, run this once,
 *   then drop the old key from ROLLCALL_ENCRYPTION_KEYS_PREVIOUS.
 * - Embedded mode: a new key is generated into the data directory's key file, everything is
 *   re-sealed, and the old key is removed from the file.
 * Returns the exit code.
 */
export async function rotateEncryptionKey(config: Config, logger: Logger, print: (line: string) => void): Promise<number> {
  const db = await openDatabase(config, logger);
  try {
    await migrateUp(db.sequelize, logger);
    const embedded = !config.encryption.key;
    const ring = embedded ? await startFileRotation(config) : (await resolveEncryptionKeys(config)).ring;
    const counts = await resealSecrets(db.sequelize, ring, "all_but_current");
    if (embedded) await finishFileRotation(config);
    print(`re-sealed with key ${ring.currentId}: ${Object.entries(counts).map(([table, n]) => `${table}=${n}`).join(" ")}`);
    if (!embedded && config.encryption.previousKeys.length > 0) print("every secret now uses the current key: ROLLCALL_ENCRYPTION_KEYS_PREVIOUS can be removed");
    return 0;
  } finally {
    await db.close();
  }
}
