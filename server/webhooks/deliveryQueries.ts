/* The reads and the one update of webhook deliveries the admin API makes (the dispatcher's are in deliveryStore.ts). */
import type { Sequelize } from "sequelize";
import { execute, select } from "../models/sql.ts";
import { NotFoundError } from "../errors.ts";

/** A delivery as the admin API lists it: the row, its event type and its attempts. */
export type DeliveryView = {
  id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  subject_id: string | null;
  status: "pending" | "succeeded" | "failed";
  attempt_count: number;
  next_attempt_at: Date;
  last_attempt_at: Date | null;
  completed_at: Date | null;
  created_at: Date;
  attempts: AttemptView[];
};

/** One attempt from webhook_attempts. */
export type AttemptView = {
  id: string;
  delivery_id: string;
  attempted_at: Date;
  status_code: number | null;
  latency_ms: number;
  response_excerpt: string | null;
  error: string | null;
};

export type DeliveryStatus = DeliveryView["status"];

export type DeliveryFilter = {
  status?: DeliveryStatus | undefined;
  endpointId?: string | undefined;
  limit: number;
  /** Cursor: deliveries with a smaller id than this one (the list is newest first). */
  after?: string | undefined;
};

const SELECT_DELIVERIES = `
  SELECT d.id, d.endpoint_id, d.event_id, ev.type AS event_type, d.subject_id, d.status, d.attempt_count,
         d.next_attempt_at, d.last_attempt_at, d.completed_at, d.created_at
    FROM webhook_deliveries d
    JOIN events ev ON ev.id = d.event_id`;

async function withAttempts(sequelize: Sequelize, rows: Omit<DeliveryView, "attempts">[]): Promise<DeliveryView[]> {
  if (rows.length === 0) return [];
  const attempts = await select<AttemptView>(
    sequelize,
    `SELECT id, delivery_id, attempted_at, status_code, latency_ms, response_excerpt, error
       FROM webhook_attempts WHERE delivery_id = ANY ($1::text[])
      ORDER BY attempted_at, id`,
    [rows.map((r) => r.id)],
  );
  const byDelivery = new Map<string, AttemptView[]>();
  for (const attempt of attempts) {
    const list = byDelivery.get(attempt.delivery_id);
    if (list) list.push(attempt);
    else byDelivery.set(attempt.delivery_id, [attempt]);
  }
  return rows.map((row) => ({ ...row, attempts: byDelivery.get(row.id) ?? [] }));
}

/** The organization's deliveries, newest first, keyset-paginated, each with its attempts. */
export async function listDeliveries(sequelize: Sequelize, organizationId: string, filter: DeliveryFilter): Promise<DeliveryView[]> {
  const rows = await select<Omit<DeliveryView, "attempts">>(
    sequelize,
    `${SELECT_DELIVERIES}
      WHERE d.organization_id = $1
        AND ($2::text IS NULL OR d.status = $2)
        AND ($3::text IS NULL OR d.endpoint_id = $3)
        AND ($4::text IS NULL OR d.id < $4)
      ORDER BY d.id DESC LIMIT $5`,
    [organizationId, filter.status ?? null, filter.endpointId ?? null, filter.after ?? null, filter.limit],
  );
  return withAttempts(sequelize, rows);
}

/** One delivery of the organization with its attempts, or 404 (also for another organization's id). */
export async function findDelivery(sequelize: Sequelize, organizationId: string, id: string): Promise<DeliveryView> {
  const rows = await select<Omit<DeliveryView, "attempts">>(sequelize, `${SELECT_DELIVERIES} WHERE d.id = $1 AND d.organization_id = $2`, [id, organizationId]);
  if (!rows[0]) throw new NotFoundError("Webhook delivery", id);
  return (await withAttempts(sequelize, rows))[0]!;
}

/** Makes a live endpoint's delivery due now and pending; false when its endpoint was deleted (or it does not exist). */
export async function markDeliveryDue(sequelize: Sequelize, organizationId: string, id: string, now: Date): Promise<boolean> {
  const updated = await execute<{ id: string }>(
    sequelize,
    `UPDATE webhook_deliveries d
        SET status = 'pending', next_attempt_at = $3, completed_at = NULL
       FROM webhook_endpoints e
      WHERE d.id = $1 AND d.organization_id = $2 AND e.id = d.endpoint_id AND e.deleted_at IS NULL
      RETURNING d.id`,
    [id, organizationId, now],
  );
  return updated.length > 0;
}
