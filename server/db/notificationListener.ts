import pg from "pg";
import type { Logger } from "../logger.ts";

export type NotificationHandlers = {
  /** LISTEN is in place: from now on every committed NOTIFY on the channel reaches onMessage. */
  onListening(): void;
  onMessage(payload: string): void;
  /** The connection is gone: notifications may be missed until onListening is called again. */
  onLost(): void;
};

export type NotificationListener = { close(): Promise<void> };

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 30_000;

/**
 * LISTENs on one channel over its own connection (a pooled connection cannot hold a LISTEN),
 * reconnecting with capped exponential backoff. Between losing the connection and LISTENing again
 * notifications are lost, which is why the handlers hear about both edges.
 */
export function listenForNotifications(url: string, channel: string, handlers: NotificationHandlers, logger: Logger): NotificationListener {
  if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`invalid channel name ${channel}`);
  let closed = false;
  let client: pg.Client | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let delay = RETRY_MIN_MS;

  const lost = (error?: unknown) => {
    if (client === undefined) return;
    const dead = client;
    client = undefined;
    handlers.onLost();
    dead.removeAllListeners("notification");
    dead.end().catch(() => undefined);
    if (closed) return;
    logger.warn({ err: error, retryInMs: delay }, "notification listener lost its connection");
    retryTimer = setTimeout(connect, delay).unref();
    delay = Math.min(delay * 2, RETRY_MAX_MS);
  };

  async function connect(): Promise<void> {
    retryTimer = undefined;
    if (closed) return;
    const candidate = new pg.Client({ connectionString: url, application_name: "rollcall-listener", keepAlive: true });
    client = candidate;
    candidate.on("error", (error) => lost(error));
    candidate.on("end", () => lost());
    candidate.on("notification", (message) => {
      if (message.channel === channel) handlers.onMessage(message.payload ?? "");
    });
    try {
      await candidate.connect();
      await candidate.query(`LISTEN ${channel}`);
      if (client !== candidate || closed) return;
      delay = RETRY_MIN_MS;
      handlers.onListening();
    } catch (error) {
      if (client === candidate) lost(error);
    }
  }

  void connect();
  return {
    async close() {
      closed = true;
      clearTimeout(retryTimer);
      const current = client;
      client = undefined;
      if (current) {
        handlers.onLost();
        await current.end().catch(() => undefined);
      }
    },
  };
}
