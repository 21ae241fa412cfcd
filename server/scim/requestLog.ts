import type { Sequelize } from "sequelize";
import { insertScimRequests, type ScimRequestEntry } from "../models/requestLogQueries.ts";
import type { Logger } from "../logger.ts";

export type { ScimRequestEntry };

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
    try {
      await insertScimRequests(this.sequelize, batch);
    } catch (error) {
      this.logger.warn({ err: error, dropped: batch.length }, "could not write SCIM request log");
    }
  }
}
