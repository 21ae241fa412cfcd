import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Clock } from "../../server/context.ts";
import type { Service, StartOptions } from "../../server/main.ts";
import { createFreshDatabase, serverUrl } from "./testDatabase.ts";
import { startTestService } from "./testService.ts";

/** One request the receiver got, with the raw body exactly as sent (what a signature covers). */
export type ReceivedWebhook = {
  headers: IncomingHttpHeaders;
  body: string;
  receivedAt: number;
  status: number;
};

/** How the receiver answers one request. */
export type ScriptedResponse = { status: number; body?: string; headers?: Record<string, string>; delayMs?: number };

/** A real HTTP consumer on 127.0.0.1 that records requests and answers as scripted (200 when the script is empty). */
export type WebhookReceiver = {
  url: string;
  received: ReceivedWebhook[];
  /** Answers the next requests with these responses, in order, then 200 again. */
  script(...responses: Array<number | ScriptedResponse>): void;
  /** Like script, but only for requests with this webhook-id (checked before the general script). */
  scriptFor(webhookId: string, ...responses: Array<number | ScriptedResponse>): void;
  /** The requests that carried this webhook-id, in arrival order. */
  receivedFor(webhookId: string): ReceivedWebhook[];
  /** Resolves once at least `count` requests arrived; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  /** Stops listening; the URL then refuses connections (a consumer that is down). */
  close(): Promise<void>;
};

/** Starts a webhook receiver on a random loopback port. */
export async function startWebhookReceiver(options: { path?: string } = {}): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const queue: ScriptedResponse[] = [];
  const byId = new Map<string, ScriptedResponse[]>();
  const toResponse = (r: number | ScriptedResponse): ScriptedResponse => (typeof r === "number" ? { status: r } : r);
  const waiters: Array<() => void> = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const response = byId.get(String(req.headers["webhook-id"]))?.shift() ?? queue.shift() ?? { status: 200, body: "ok" };
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8"), receivedAt: Date.now(), status: response.status });
      for (const wake of waiters.splice(0)) wake();
      const answer = () => {
        if (res.destroyed) return;
        res.writeHead(response.status, { "content-type": "text/plain", ...(response.headers ?? {}) });
        res.end(response.body ?? "");
      };
      if (response.delayMs) setTimeout(answer, response.delayMs);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${options.path ?? "/webhooks"}`,
    received,
    script(...responses) {
      queue.push(...responses.map(toResponse));
    },
    scriptFor(webhookId, ...responses) {
      byId.set(webhookId, [...(byId.get(webhookId) ?? []), ...responses.map(toResponse)]);
    },
    receivedFor(webhookId) {
      return received.filter((r) => r.headers["webhook-id"] === webhookId);
    },
    async waitFor(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} webhook requests, got ${received.length}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50);
        });
      }
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** A clock the test moves by hand, so retry schedules are exercised without sleeping. */
export type ManualClock = Clock & { advance(ms: number): void; set(date: Date): void };

/** Creates a manual clock starting at `start` (default: the real now, so signatures stay verifiable). */
export function createManualClock(start: Date = new Date()): ManualClock {
  let current = start.getTime();
  return {
    now: () => new Date(current),
    advance(ms) {
      current += ms;
    },
    set(date) {
      current = date.getTime();
    },
  };
}

/**
 * A test service on a database of its own (embedded mode: its own PGlite anyway). A dispatcher claims
 * every due delivery in its database, so tests that count attempts or metrics must not share one
 * with other files' leftovers. `databaseUrl` is what a second pool connects to.
 */
export async function startIsolatedService(
  options: { env?: Record<string, string>; clock?: Clock } & Omit<Partial<StartOptions>, "config"> = {},
): Promise<{ service: Service; databaseUrl: string | undefined; stop(): Promise<void> }> {
  const fresh = serverUrl ? await createFreshDatabase(serverUrl, "rollcall_webhooks") : undefined;
  const service = await startTestService(fresh?.url, options);
  return {
    service,
    databaseUrl: fresh?.url,
    async stop() {
      await service.stop();
      await fresh?.drop();
    },
  };
}
