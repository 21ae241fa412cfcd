import { QueryTypes, type Sequelize } from "sequelize";
import type { AttemptResult } from "./sender.ts";
import { serializePayload, type EventPayload } from "./eventPayload.ts";
import { execute, storableText } from "../models/sql.ts";
import { keyRingOf } from "../crypto/secretBox.ts";

/** A delivery the dispatcher has leased, with everything needed to send it. */
export type ClaimedDelivery = {
  id: string;
  organization_id: string;
  endpoint_id: string;
  attempt_count: number;
  event_id: string;
  event_type: string;
  body: string;
  /** The stored event, for formats that render it themselves (server/webhooks/formats/). */
  payload: EventPayload;
  url: string;
  secret: string;
  /** The secret a rotation replaced, signing too until it expires (opened like `secret`). */
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
  format: "standard-webhooks" | "scim-events";
  scim_events_mode: "full" | "notice";
  /** The endpoint's circuit was open when this was claimed: it is the probe (see circuitBreaker.ts). */
  probe: boolean;
  /** The endpoint's failure streak when claimed; a success then has a streak to end. */
  endpoint_failures: number;
  /** next_attempt_at as set by the claim; the record step only reschedules if it is unchanged. */
  lease: Date;
};

/** Outcome label of one attempt, as in rollcall_webhook_deliveries_total{outcome}. */
export type AttemptOutcome = "success" | "retry" | "failed";

/** One finished attempt, ready to be written to the delivery log. */
export type AttemptRecord = {
  deliveryId: string;
  attemptId: string;
  attemptedAt: Date;
  result: AttemptResult;
  outcome: AttemptOutcome;
  nextAttemptAt: Date | null;
  lease: Date;
};

/** What a claim may take: how many, and how busy this dispatcher already is with each endpoint. */
export type ClaimRequest = {
  now: Date;
  leaseUntil: Date;
  limit: number;
  /** Endpoints this dispatcher has requests in flight to: how many, and how many it allows at once. */
  inFlight: ReadonlyMap<string, { count: number; limit: number }>;
  /** Endpoints with no room left in this dispatcher: their rows are skipped by the scan. */
  saturated: readonly string[];
  /** Requests at once to an endpoint with nothing in flight here (an endpoint with a failure streak or an open circuit gets 1). */
  initialRoom: number;
};

/*
 * Claim = lock + lease in one autocommitted statement, so no transaction stays open during the HTTP
 * call and a crashed dispatcher's claims simply become due again when their lease runs out.
 * - FOR UPDATE SKIP LOCKED lets several dispatchers claim disjoint windows concurrently; a row
 *   another dispatcher leased in the meantime is re-checked against next_attempt_at and skipped.
 * - Only the head of each (endpoint, subject) queue is claimable: while an earlier delivery of the
 *   same subject to the same endpoint is pending (queued, leased, waiting for a retry or parked),
 *   later ones wait. Deliveries without a subject are not ordered.
 * - Time is the injected clock's ($1), never the database's now(), so tests drive retries.
 * - Isolation: endpoints this dispatcher already has at their concurrency limit ($6) are skipped in
 *   the scan, and from the window of the oldest due rows each endpoint gets at most its remaining
 *   room: its limit in this dispatcher ($8, or $9 when nothing is in flight) minus what is in
 *   flight, or 1 for an endpoint with a failure streak or an open circuit. The batch is
 *   then filled round-robin between organizations (each organization's oldest first, then each
 *   one's second, …), so one tenant's burst does not fill every batch.
 * - The due scan walks webhook_deliveries_due_idx in time order and stops at the window; endpoints
 *   are joined only to the window's rows, because joining them inside the scan made the planner
 *   read every pending row on each claim. Parked deliveries (open circuit, disabled endpoint) sit
 *   at the far end of that index and are never read. A deleted or disabled endpoint's row is
 *   locked, not leased, and swept by housekeeping.
 * - The leasing UPDATE finds its rows by primary key (`id = ANY (ARRAY(…))`): joined to the picked
 *   rows instead, the planner read the whole table (every delivery ever kept) on each claim.
 * - An event's payload comes back once per claim (on the first of its deliveries), not once per
 *   endpoint, and is serialized once: with ten endpoints per event that was nine copies to transfer,
 *   parse and stringify.
 */
const CLAIM = `
  WITH busy AS (
    SELECT * FROM unnest($4::text[], $5::int[], $8::int[]) AS b(endpoint_id, in_flight, max_in_flight)
  ), window_rows AS (
    SELECT d.id, d.organization_id, d.endpoint_id, d.event_id, d.next_attempt_at, d.event_seq
      FROM webhook_deliveries d
     WHERE d.status = 'pending' AND d.next_attempt_at <= $1
       AND d.endpoint_id <> ALL ($6::text[])
       AND NOT EXISTS (
         SELECT 1 FROM webhook_deliveries earlier
          WHERE earlier.status = 'pending'
            AND earlier.endpoint_id = d.endpoint_id
            AND earlier.subject_id = d.subject_id
            AND earlier.event_seq < d.event_seq)
     ORDER BY d.next_attempt_at, d.event_seq
     LIMIT $7
     FOR UPDATE OF d SKIP LOCKED
  ), ranked AS (
    SELECT w.id, w.event_id, w.next_attempt_at, w.event_seq,
           row_number() OVER (PARTITION BY w.endpoint_id ORDER BY w.next_attempt_at, w.event_seq) AS endpoint_rank,
           row_number() OVER (PARTITION BY w.organization_id ORDER BY w.next_attempt_at, w.event_seq) AS org_rank,
           CASE WHEN e.circuit_open_until IS NULL AND e.consecutive_failures = 0 THEN coalesce(b.max_in_flight, $9) ELSE 1 END
             - coalesce(b.in_flight, 0) AS room
      FROM window_rows w
      JOIN webhook_endpoints e ON e.id = w.endpoint_id AND e.deleted_at IS NULL AND e.enabled
      LEFT JOIN busy b ON b.endpoint_id = w.endpoint_id
  ), picked AS (
    SELECT id, event_id FROM ranked WHERE endpoint_rank <= room
     ORDER BY org_rank, next_attempt_at, event_seq
     LIMIT $3
  ), firsts AS (
    SELECT DISTINCT ON (event_id) id FROM picked ORDER BY event_id, id
  )
  UPDATE webhook_deliveries w
     SET attempt_count = w.attempt_count + 1, last_attempt_at = $1, next_attempt_at = $2
    FROM events ev, webhook_endpoints e
   WHERE w.id = ANY (ARRAY(SELECT id FROM picked)) AND ev.id = w.event_id AND e.id = w.endpoint_id
  RETURNING w.id, w.organization_id, w.endpoint_id, w.attempt_count, w.event_id, ev.type AS event_type,
            CASE WHEN w.id = ANY (ARRAY(SELECT id FROM firsts)) THEN ev.payload END AS payload, e.url, e.secret,
            e.previous_secret, e.previous_secret_expires_at, e.format, e.scim_events_mode,
            e.circuit_open_until IS NOT NULL AS probe, e.consecutive_failures AS endpoint_failures, w.next_attempt_at AS lease`;

/** How many due rows a claim looks at to fill one batch fairly. */
const WINDOW_FACTOR = 3;

/** Leases up to `limit` due deliveries until `leaseUntil`, fairly between organizations and within each endpoint's room. */
export async function claimDue(sequelize: Sequelize, request: ClaimRequest): Promise<ClaimedDelivery[]> {
  const busy = [...request.inFlight];
  const [rows] = await sequelize.query(CLAIM, {
    bind: [
      request.now,
      request.leaseUntil,
      request.limit,
      busy.map(([id]) => id),
      busy.map(([, slots]) => slots.count),
      request.saturated,
      request.limit * WINDOW_FACTOR,
      busy.map(([, slots]) => slots.limit),
      request.initialRoom,
    ],
  });
  const claimed = rows as Array<Omit<ClaimedDelivery, "body"> & { payload: EventPayload | null }>;
  // Each event's payload comes once per claim (on its first delivery's row), serialized once.
  const payloads = new Map<string, EventPayload>();
  const bodies = new Map<string, string>();
  for (const row of claimed) {
    if (!row.payload) continue;
    payloads.set(row.event_id, row.payload);
    bodies.set(row.event_id, serializePayload(row.payload));
  }
  const ring = keyRingOf(sequelize);
  // The signing secret is sealed at rest (server/crypto/secretBox.ts); it is opened here, where it
  // is loaded, once per endpoint and claim.
  const secrets = new Map<string, string>();
  const open = (sealed: string, row: { endpoint_id: string; organization_id: string }) => {
    let secret = secrets.get(sealed);
    if (secret === undefined) secrets.set(sealed, (secret = ring.open(sealed, row.organization_id)));
    return secret;
  };
  return claimed.map((row) => ({
    ...row,
    payload: payloads.get(row.event_id)!,
    secret: open(row.secret, row),
    previous_secret: row.previous_secret === null ? null : open(row.previous_secret, row),
    body: bodies.get(row.event_id)!,
  }));
}

/*
 * One statement per batch: the attempts go into the log and the deliveries move on. A success is
 * always recorded (the consumer has the event). A failure only reschedules a delivery this
 * dispatcher still holds (next_attempt_at still equals its lease): if the lease ran out and someone
 * else claimed it, or an admin retried it, their schedule wins. Recording never reopens a finished delivery.
 * Rows are locked in id order first, as the circuit breaker's park and release lock them, so the
 * statements of two dispatchers never deadlock. (Finding them by `id = ANY ($1)` instead of the
 * join was tried: the planner then estimated one row and nested-looped 1,500 × 1,500, 3 s a write.)
 */
const RECORD = `
  WITH r AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::int[], $5::int[], $6::text[], $7::text[],
                         $8::text[], $9::timestamptz[], $10::timestamptz[])
      AS r(delivery_id, attempt_id, attempted_at, status_code, latency_ms, excerpt, error, outcome, next_attempt_at, lease)
  ), logged AS (
    INSERT INTO webhook_attempts (id, delivery_id, attempted_at, status_code, latency_ms, response_excerpt, error)
    SELECT attempt_id, delivery_id, attempted_at, status_code, latency_ms, excerpt, error FROM r
  ), locked AS MATERIALIZED (
    SELECT d.id FROM webhook_deliveries d JOIN r ON d.id = r.delivery_id ORDER BY d.id FOR NO KEY UPDATE OF d
  )
  UPDATE webhook_deliveries d
     SET status = CASE r.outcome WHEN 'success' THEN 'succeeded' WHEN 'failed' THEN 'failed' ELSE 'pending' END,
         next_attempt_at = COALESCE(r.next_attempt_at, d.next_attempt_at),
         completed_at = CASE WHEN r.outcome = 'retry' THEN NULL ELSE r.attempted_at END
    FROM r, locked
   WHERE d.id = r.delivery_id AND locked.id = d.id AND d.status = 'pending'
     AND (r.outcome = 'success' OR d.next_attempt_at = r.lease)`;

/** Writes a batch of finished attempts and moves their deliveries on (succeeded, retry later, failed). */
export async function recordAttempts(sequelize: Sequelize, records: AttemptRecord[]): Promise<void> {
  if (records.length === 0) return;
  const column = <T>(pick: (r: AttemptRecord) => T) => records.map(pick);
  await execute(sequelize, RECORD, [
    column((r) => r.deliveryId),
    column((r) => r.attemptId),
    column((r) => r.attemptedAt),
    column((r) => r.result.statusCode),
    column((r) => r.result.latencyMs),
    column((r) => storableText(r.result.responseExcerpt)),
    column((r) => storableText(r.result.error)),
    column((r) => r.outcome),
    column((r) => r.nextAttemptAt),
    column((r) => r.lease),
  ]);
}

/**
 * Ends the pending deliveries of deleted endpoints. Deleting an endpoint already does this, but an
 * event recorded concurrently with the delete can still fan out to it (its snapshot predates the
 * delete); such deliveries are never claimed, and this sweep gives them a final status.
 */
export async function failDeliveriesOfDeletedEndpoints(sequelize: Sequelize, now: Date): Promise<void> {
  await sequelize.query(
    `UPDATE webhook_deliveries d SET status = 'failed', completed_at = $1
       FROM webhook_endpoints e
      WHERE e.id = d.endpoint_id AND e.deleted_at IS NOT NULL AND d.status = 'pending'`,
    { bind: [now] },
  );
}

/**
 * Wakes the dispatchers LISTENing on `channel`. Sent in a statement of its own, after the writer's
 * commit, never inside it (see server/webhooks/wakeUp.ts for why and how often).
 */
export async function notifyDeliveriesDue(sequelize: Sequelize, channel: string): Promise<void> {
  await sequelize.query(`SELECT pg_notify($1, '')`, { bind: [channel] });
}

/**
 * Refreshes the planner statistics of webhook_deliveries. The claim's plan (walk the due index in
 * time order, stop at LIMIT) relies on them; after a burst (an IdP bulk push) autovacuum may not
 * have analyzed yet, and with "few rows" estimates Postgres sorts the whole backlog on every claim.
 */
export async function analyzeDeliveries(sequelize: Sequelize): Promise<void> {
  await sequelize.query(`ANALYZE webhook_deliveries`);
}

/** Deliveries still to be delivered (queued, leased or waiting for a retry), for the outbox gauge. */
export async function countPending(sequelize: Sequelize): Promise<number> {
  const rows = await sequelize.query<{ pending: number }>(`SELECT count(*) AS pending FROM webhook_deliveries WHERE status = 'pending'`, {
    type: QueryTypes.SELECT,
  });
  return rows[0]?.pending ?? 0;
}
