import type { Sequelize } from "sequelize";
import { publicCredentials, splitBody, type DirectoryBody } from "./settings.ts";
import { upsertDirectory, type DirectoryRow } from "./directoryStore.ts";

/**
 * Stores a validated directory body for one connection (the admin API and the portal both save
 * through this): settings and sealed credentials apart, only the non-secret credential fields public.
 */
export async function saveDirectory(sequelize: Sequelize, organizationId: string, connectionId: string, body: DirectoryBody, now: Date): Promise<DirectoryRow> {
  const { settings, credentials } = splitBody(body);
  return upsertDirectory(sequelize, {
    organizationId,
    connectionId,
    provider: body.provider,
    settings,
    credentials,
    publicCredentials: publicCredentials(body),
    maxDeactivationRatio: body.max_deactivation_ratio,
    intervalMinutes: body.interval_minutes,
    fullEveryHours: body.full_every_hours,
  }, now);
}
