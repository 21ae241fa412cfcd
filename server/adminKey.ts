import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Config } from "./config.ts";

/**
 * The admin API secret: ROLLCALL_ADMIN_KEY when set; otherwise (never in production) one generated
 * on first start and kept under the data directory. `generated` is true only on that first start,
 * so the caller prints it exactly once.
 */
export async function resolveAdminKey(config: Config): Promise<{ key: string; generated: boolean; file?: string }> {
  if (config.adminKey) return { key: config.adminKey, generated: false };
  const file = path.resolve(config.dataDir, "admin-key");
  try {
    const stored = (await readFile(file, "utf8")).trim();
    if (stored.length >= 16) return { key: stored, generated: false, file };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  await mkdir(config.dataDir, { recursive: true });
  const key = `rk_${randomBytes(32).toString("base64url")}`;
  await writeFile(file, `${key}\n`, { mode: 0o600 });
  return { key, generated: true, file };
}
