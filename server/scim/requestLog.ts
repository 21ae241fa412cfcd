import type { Sequelize } from "sequelize";
import { newId } from "../ids.ts";
import { execute, storableText } from "../models/sql.ts";
import type { Logger } from "../logger.ts";

/** One SCIM call as recorded for an org admin debugging their IdP; holds no secrets or bodies. */
export type ScimRequestEntry = {
  organizationId: string;
  tokenId: string | null;
  requestId: string;
  method: string;
  path: string;
  status: number;
  durationMs: number;
  outcome: "success" | "client_error" | "server_error" | "rate_limited";
  error: string | null;
  at: Date;
};

export interface ScimRequestLog {
  record(entry: ScimRequestEntry): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Buffers entries and writes them in batches, off the request path: a log row must never cost an
 * IdP request a database round trip. Entries are best-effort (a crash loses at most one batch).
 */
export class BatchedScimRequestLog implements ScimRequestLog {
  private buffer: ScimRequestEntry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(
    private readonly sequelize: Sequelize,
    private readonly logger: Logger,
    private readonly options = { flushMs: 200, maxBatch: 500 },
  ) {}

  record(entry: ScimRequestEntry): void {
    this.buffer.push(entry);
    if (this.buffer.length >= this.options.maxBatch) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.options.flushMs).unref();
  }

  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.buffer;
    this.buffer = [];
    if (batch.length > 0) {
      this.inFlight = this.inFlight.then(() => this.write(batch));
    }
    await this.inFlight;
  }

  async close(): Promise<void> {
    await this.flush();
  }

  private async write(batch: ScimRequestEntry[]): Promise<void> {
    // One column array per parameter: the statement text is the same for any batch size, so it is
    // prepared once per connection instead of parsed and planned with thousands of parameters.
    const column = <T>(pick: (e: ScimRequestEntry) => T) => batch.map(pick);
    try {
      await execute(
        this.sequelize,
        `INSERT INTO scim_request_log (id, organization_id, token_id, request_id, method, path, status, duration_ms, outcome, error, created_at)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::int[], $9::text[], $10::text[], $11::timestamptz[])`,
        [
          column(() => newId("req")),
          column((e) => e.organizationId),
          column((e) => e.tokenId),
          column((e) => e.requestId),
          column((e) => e.method),
          column((e) => storableText(e.path.slice(0, 2000))),
          column((e) => e.status),
          column((e) => e.durationMs),
          column((e) => e.outcome),
          column((e) => storableText(e.error?.slice(0, 1000) ?? null)),
          column((e) => e.at),
        ],
      );
    } catch (error) {
      this.logger.warn({ err: error, dropped: batch.length }, "could not write SCIM request log");
    }
  }
}
