import { ms } from "../../server/admin/presenters.ts";
import type { DirectoryRow } from "./directoryStore.ts";

/** A directory connection as the admin API shows it: settings, non-secret credential fields and `configured: true`, never a secret. */
export function presentDirectory(row: DirectoryRow) {
  return {
    id: row.id,
    object: "directory_connection" as const,
    organization_id: row.organization_id,
    enterprise_connection_id: row.enterprise_connection_id,
    provider: row.provider,
    ...row.settings,
    credentials: { ...row.public_credentials, configured: true as const },
    max_deactivation_ratio: row.max_deactivation_ratio,
    interval_minutes: row.interval_minutes,
    full_every_hours: row.full_every_hours,
    last_run_at: ms(row.last_run_at),
    last_full_run_at: ms(row.last_full_run_at),
    created_at: ms(row.created_at),
    updated_at: ms(row.updated_at),
  };
}
