import type { Sequelize } from "sequelize";
import { execute } from "./sql.ts";

/*
 * The retention job's SQL. Each call deletes at most `limit` rows (oldest first), so one call is a
 * short transaction that never holds many row locks or bloats WAL in one go; the job repeats it
 * until fewer than `limit` rows went.
 */

type Count = { n: number };

async function deleted(sequelize: Sequelize, sql: string, cutoff: Date, limit: number): Promise<number> {
  const [row] = await execute<Count>(sequelize, sql, [cutoff, limit]);
  return row?.n ?? 0;
}

/** SCIM request-log rows older than `cutoff`. */
export function deleteRequestLogBefore(sequelize: Sequelize, cutoff: Date, limit: number): Promise<number> {
  return deleted(
    sequelize,
    `WITH doomed AS (SELECT id FROM scim_request_log WHERE created_at < $1 ORDER BY created_at LIMIT $2),
          gone AS (DELETE FROM scim_request_log l USING doomed WHERE l.id = doomed.id RETURNING 1)
     SELECT count(*)::int AS n FROM gone`,
    cutoff,
    limit,
  );
}

/**
 * Events older than `cutoff` that the dispatcher is done with: fanned out, and no delivery still
 * pending (a consumer that is down for longer than the retention keeps its backlog). Their
 * deliveries and attempts go with them (ON DELETE CASCADE).
 */
export function deleteEventsBefore(sequelize: Sequelize, cutoff: Date, limit: number): Promise<number> {
  return deleted(
    sequelize,
    `WITH doomed AS (
       SELECT e.id FROM events e
        WHERE e.created_at < $1 AND e.fanned_out_at IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id AND d.status = 'pending')
        ORDER BY e.created_at LIMIT $2),
          gone AS (DELETE FROM events e USING doomed WHERE e.id = doomed.id RETURNING 1)
     SELECT count(*)::int AS n FROM gone`,
    cutoff,
    limit,
  );
}

/** Delivery attempts made before `cutoff`; the delivery row keeps its status and attempt count. */
export function deleteDeliveryAttemptsBefore(sequelize: Sequelize, cutoff: Date, limit: number): Promise<number> {
  return deleted(
    sequelize,
    `WITH doomed AS (SELECT id FROM webhook_attempts WHERE attempted_at < $1 ORDER BY attempted_at LIMIT $2),
          gone AS (DELETE FROM webhook_attempts a USING doomed WHERE a.id = doomed.id RETURNING 1)
     SELECT count(*)::int AS n FROM gone`,
    cutoff,
    limit,
  );
}
