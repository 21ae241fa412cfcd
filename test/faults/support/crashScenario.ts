import pg from "pg";
import { Webhook } from "standardwebhooks";
import { admin, scim } from "../../helpers/http.ts";
import { createOrgWithToken, scimUserBody, unique } from "../../helpers/factories.ts";
import { createFreshDatabase } from "../../helpers/testDatabase.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../../helpers/webhookReceiver.ts";
import { spawnChildServer, type ChildServer } from "./childServer.ts";
import { createRng, type Rng } from "./random.ts";

/** How hard to hit the server: clients in parallel, SIGKILLs, and how long it runs between kills. */
export type CrashScenarioOptions = {
  seed: number;
  clients: number;
  kills: number;
  /** Uptime before each kill, drawn uniformly from this range (ms after the server became ready). */
  upMs: [number, number];
  /** Traffic after the last restart, before the clients finish their current create and stop. */
  tailMs: number;
  /** Every n-th create of a client is a group push with the client's last users as members (0: never). */
  groupEvery: number;
  /** ROLLCALL_WEBHOOK_TIMEOUT_MS of the child; a crashed dispatcher's lease runs out 60 s after it. */
  webhookTimeoutMs: number;
};

/** A create that got a 2xx, as the client saw it. */
export type AckedCreate = { kind: "user" | "group"; id: string; name: string; externalId: string | null; members: string[] };

export type CrashScenarioRun = {
  databaseUrl: string;
  server: ChildServer;
  receiver: WebhookReceiver;
  token: string;
  webhookSecret: string;
  acked: AckedCreate[];
  /** Bodies a client gave up on (never acknowledged): each is a failure of the run. */
  abandoned: string[];
  /** Outcome of every attempt: HTTP status or the connection error's code. */
  histogram: Record<string, number>;
  kills: Array<{ atMs: number; inFlight: number }>;
  durationMs: number;
  /** Runs SQL against the scenario's database. */
  query<Row extends object>(sql: string, params?: unknown[]): Promise<Row[]>;
  cleanup(): Promise<void>;
};

const MAX_ATTEMPTS_PER_CREATE = 400;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function errorCode(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current && typeof current === "object"; depth++) {
    const named = current as { code?: unknown; name?: unknown; cause?: unknown };
    if (typeof named.code === "string") return named.code;
    if (named.name === "TimeoutError" || named.name === "AbortError") return "timeout";
    current = named.cause;
  }
  return "network_error";
}

/**
 * One client: creates users (and now and then a group of its recent users) one after another. A
 * create that fails without an answer is retried with the same body, as an IdP would: externalId
 * makes a retried user create idempotent, and a 409 on a retried group push means the earlier
 * attempt committed. A body is finished only once it got a 2xx, so every body ends acknowledged.
 */
async function runClient(
  run: { url: () => string; token: string; acked: AckedCreate[]; abandoned: string[]; histogram: Record<string, number> },
  rng: Rng,
  options: CrashScenarioOptions,
  inFlight: { count: number },
  shouldStop: () => boolean,
): Promise<void> {
  const recentUsers: string[] = [];
  for (let n = 1; !shouldStop() && n <= 100_000; n++) {
    const isGroup = options.groupEvery > 0 && n % options.groupEvery === 0 && recentUsers.length >= 2;
    const members = isGroup ? recentUsers.slice(-3) : [];
    const body = isGroup
      ? { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: `Crash team ${unique()}`, members: members.map((value) => ({ value })) }
      : scimUserBody();
    const path = isGroup ? "/Groups" : "/Users";
    let done = false;
    let sawNoAnswer = false;
    let rejected = false;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS_PER_CREATE && !done; attempt++) {
      inFlight.count++;
      let status: string;
      let created: { id?: unknown } | undefined;
      try {
        const response = await scim(run.url(), run.token, "POST", path, body);
        status = String(response.status);
        created = response.body as { id?: unknown } | undefined;
      } catch (error) {
        status = errorCode(error);
        sawNoAnswer = true;
      } finally {
        inFlight.count--;
      }
      run.histogram[status] = (run.histogram[status] ?? 0) + 1;
      if (status.startsWith("2") && typeof created?.id === "string") {
        const name = String((body as { userName?: unknown; displayName?: unknown }).userName ?? (body as { displayName?: unknown }).displayName);
        run.acked.push({ kind: isGroup ? "group" : "user", id: created.id, name, externalId: isGroup ? null : String((body as { externalId?: unknown }).externalId), members });
        if (!isGroup) recentUsers.push(created.id);
        done = true;
      } else if (isGroup && status === "409" && sawNoAnswer) {
        // The unanswered attempt committed; the group is checked by name at the end.
        const filter = encodeURIComponent(`displayName eq "${(body as { displayName: string }).displayName}"`);
        const found = await scim(run.url(), run.token, "GET", `/Groups?filter=${filter}`).catch(() => undefined);
        const id = (found?.body as { Resources?: Array<{ id?: unknown }> } | undefined)?.Resources?.[0]?.id;
        if (typeof id === "string") {
          run.acked.push({ kind: "group", id, name: (body as { displayName: string }).displayName, externalId: null, members });
          done = true;
        }
      } else if (status.startsWith("4")) {
        // A 4xx for a valid body is a bug, not a transient failure: stop retrying it.
        run.abandoned.push(`${path} ${status} ${JSON.stringify(body).slice(0, 200)}`);
        rejected = true;
        break;
      }
      if (!done) await sleep(rng.int(20, 120));
    }
    if (!done && !rejected) run.abandoned.push(`${path} never acknowledged after ${MAX_ATTEMPTS_PER_CREATE} attempts: ${JSON.stringify(body).slice(0, 200)}`);
  }
}

/**
 * Starts a `rollcall serve` child (webhook dispatcher on) on a database of its own, points an org's
 * webhook endpoint at a local receiver, and drives concurrent SCIM creates while SIGKILLing and
 * restarting the child on the same port. Returns what the clients were told, for the checks.
 */
export async function runCrashScenario(serverUrl: string, options: CrashScenarioOptions): Promise<CrashScenarioRun> {
  const rng = createRng(options.seed);
  const fresh = await createFreshDatabase(serverUrl, "rollcall_crash");
  const receiver = await startWebhookReceiver();
  const client = new pg.Client({ connectionString: fresh.url });
  let server: ChildServer | undefined;
  const cleanup = async () => {
    await server?.stop();
    await receiver.close();
    await client.end().catch(() => undefined);
    await fresh.drop();
  };
  try {
    server = await spawnChildServer({
      databaseUrl: fresh.url,
      env: { ROLLCALL_ENABLE_DISPATCHER: "true", ROLLCALL_WEBHOOK_TIMEOUT_MS: String(options.webhookTimeoutMs) },
    });
    await client.connect();
    const { token, orgId } = await createOrgWithToken(server.url);
    const endpoint = await admin(server.url, "POST", `/v1/organizations/${orgId}/webhook_endpoints`, { url: receiver.url });
    if (endpoint.status !== 201) throw new Error(`webhook endpoint create failed: ${endpoint.status} ${endpoint.text}`);

    const started = Date.now();
    const run = { url: () => server!.url, token, acked: [] as AckedCreate[], abandoned: [] as string[], histogram: {} as Record<string, number> };
    const inFlight = { count: 0 };
    let stop = false;
    const clients = Array.from({ length: options.clients }, (_, i) =>
      runClient(run, createRng(options.seed + i + 1), options, inFlight, () => stop),
    );
    const kills: Array<{ atMs: number; inFlight: number }> = [];
    try {
      for (let k = 0; k < options.kills; k++) {
        await sleep(rng.int(options.upMs[0], options.upMs[1]));
        kills.push({ atMs: Date.now() - started, inFlight: inFlight.count });
        await server.kill();
        // Down for a moment, as a crash-looping pod would be, then back on the same port.
        await sleep(rng.int(0, 300));
        await server.restart();
      }
      await sleep(options.tailMs);
    } finally {
      stop = true;
      await Promise.all(clients);
    }
    return {
      databaseUrl: fresh.url,
      server,
      receiver,
      token,
      webhookSecret: String(endpoint.body.secret),
      acked: run.acked,
      abandoned: run.abandoned,
      histogram: run.histogram,
      kills,
      durationMs: Date.now() - started,
      query: async <Row extends object>(sql: string, params: unknown[] = []) => (await client.query(sql, params)).rows as Row[],
      cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** Rows that would mean a write was half done: the answer to "what is inconsistent?" for each rule. */
export const HALF_WRITTEN_CHECKS: ReadonlyArray<{ rule: string; sql: string }> = [
  { rule: "every user has its outbox event", sql: "SELECT u.id FROM users u WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.subject_id = u.id)" },
  { rule: "every user has its audit row", sql: "SELECT u.id FROM users u WHERE NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.subject_id = u.id)" },
  { rule: "every team has its outbox event", sql: "SELECT t.id FROM teams t WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.subject_id = t.id)" },
  { rule: "every event fanned out to the endpoint", sql: "SELECT e.id FROM events e WHERE NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id)" },
  {
    rule: "every membership joins a live user and a live team of the same organization",
    sql: `SELECT m.team_id, m.user_id FROM team_memberships m
            LEFT JOIN users u ON u.id = m.user_id AND u.organization_id = m.organization_id AND u.deleted_at IS NULL
            LEFT JOIN teams t ON t.id = m.team_id AND t.organization_id = m.organization_id AND t.deleted_at IS NULL
           WHERE u.id IS NULL OR t.id IS NULL`,
  },
  {
    rule: "no pending membership names a user that exists (it would have been applied)",
    sql: `SELECT p.id FROM pending_memberships p JOIN users u ON u.organization_id = p.organization_id AND u.deleted_at IS NULL
           WHERE u.id = p.member_value OR u.external_id = p.member_value`,
  },
  { rule: "no externalId is held by two live users", sql: "SELECT external_id FROM users WHERE deleted_at IS NULL GROUP BY enterprise_connection_id, external_id HAVING count(*) > 1" },
];

/** Event ids the receiver got with a valid Standard Webhooks signature (duplicates collapse: webhook-id dedup). */
export function verifiedDeliveredIds(receiver: WebhookReceiver, secret: string): { ids: Set<string>; requests: number; badSignatures: number } {
  const verifier = new Webhook(secret);
  const ids = new Set<string>();
  let badSignatures = 0;
  for (const r of receiver.received) {
    const headers = { "webhook-id": String(r.headers["webhook-id"]), "webhook-timestamp": String(r.headers["webhook-timestamp"]), "webhook-signature": String(r.headers["webhook-signature"]) };
    try {
      verifier.verify(r.body, headers);
      ids.add(headers["webhook-id"]);
    } catch {
      badSignatures++;
    }
  }
  return { ids, requests: receiver.received.length, badSignatures };
}

/** Waits until the receiver has every event id stored in `events`, or the deadline passes; returns the ids still missing. */
export async function waitForAllEventsDelivered(run: CrashScenarioRun, timeoutMs: number, drainOnce?: () => Promise<void>): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let missing: string[] = [];
  while (Date.now() <= deadline) {
    const events = await run.query<{ id: string }>("SELECT id FROM events ORDER BY seq");
    const { ids } = verifiedDeliveredIds(run.receiver, run.webhookSecret);
    missing = events.map((e) => e.id).filter((id) => !ids.has(id));
    if (missing.length === 0) return [];
    if (drainOnce) await drainOnce();
    await sleep(250);
  }
  return missing;
}

/** What the checks found after a crash run; every list must be empty for the run to pass. */
export type CrashFindings = {
  ackedMissing: string[];
  halfWritten: Array<{ rule: string; rows: unknown[] }>;
  undelivered: string[];
  badSignatures: number;
  usersInDatabase: number;
  eventsInDatabase: number;
  webhookRequests: number;
  distinctWebhookIds: number;
};

/** GETs every acknowledged create, runs the half-written checks, and waits for every event's delivery. */
export async function checkCrashRun(run: CrashScenarioRun, deliveryTimeoutMs: number, drainOnce?: () => Promise<void>): Promise<CrashFindings> {
  const ackedMissing: string[] = [];
  for (const created of run.acked) {
    const response = await scim(run.server.url, run.token, "GET", `/${created.kind === "user" ? "Users" : "Groups"}/${created.id}`);
    const body = response.body as { userName?: unknown; displayName?: unknown; members?: Array<{ value: string }> } | undefined;
    const name = created.kind === "user" ? body?.userName : body?.displayName;
    const memberIds = (body?.members ?? []).map((m) => m.value).sort();
    const membersOk = created.kind === "user" || JSON.stringify(memberIds) === JSON.stringify([...created.members].sort());
    if (response.status !== 200 || name !== created.name || !membersOk) {
      ackedMissing.push(`${created.kind} ${created.id}: ${response.status} ${response.text.slice(0, 200)}`);
    }
  }
  const halfWritten: Array<{ rule: string; rows: unknown[] }> = [];
  for (const check of HALF_WRITTEN_CHECKS) {
    const rows = await run.query(check.sql);
    if (rows.length > 0) halfWritten.push({ rule: check.rule, rows: rows.slice(0, 5) });
  }
  const undelivered = await waitForAllEventsDelivered(run, deliveryTimeoutMs, drainOnce);
  const delivered = verifiedDeliveredIds(run.receiver, run.webhookSecret);
  const [{ users }] = (await run.query<{ users: number }>("SELECT count(*)::int AS users FROM users")) as [{ users: number }];
  const [{ events }] = (await run.query<{ events: number }>("SELECT count(*)::int AS events FROM events")) as [{ events: number }];
  return {
    ackedMissing,
    halfWritten,
    undelivered,
    badSignatures: delivered.badSignatures,
    usersInDatabase: users,
    eventsInDatabase: events,
    webhookRequests: delivered.requests,
    distinctWebhookIds: delivered.ids.size,
  };
}
