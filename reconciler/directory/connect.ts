import type { Sequelize } from "sequelize";
import type { Metrics } from "../../server/metrics.ts";
import { connectorFor } from "./connectors/index.ts";
import type { DirectoryConnector } from "./connectors/types.ts";
import { directoryConfigOf, type DirectoryRow } from "./directoryStore.ts";

/** How directory connectors talk to IdPs in this process (config.directory, the metrics, a clock in tests). */
export type DirectoryClientOptions = {
  metrics: Pick<Metrics, "directoryRequests">;
  timeoutMs: number;
  rateLimitShare: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
};

/** Opens a stored directory's credentials and builds its connector (credentials stay inside it). */
export function connectDirectory(sequelize: Sequelize, row: DirectoryRow, options: DirectoryClientOptions): DirectoryConnector {
  return connectorFor(directoryConfigOf(sequelize, row), options);
}

/** POST …/directory/test: pulls users and groups once, counting them, or says what failed and why. */
export async function testDirectory(connector: DirectoryConnector): Promise<{ ok: boolean; detail: string; users: number; groups: number }> {
  let users = 0;
  let groups = 0;
  try {
    for await (const page of connector.users()) users += page.length;
    for await (const page of connector.groups()) groups += page.length;
    return { ok: true, detail: `${connector.provider} answered: ${users} assigned user(s), ${groups} assigned group(s)`, users, groups };
  } catch (error) {
    return { ok: false, detail: error instanceof Error ? error.message : String(error), users, groups };
  }
}
