import type { Sequelize } from "sequelize";
import { newId } from "../ids.ts";
import { execute, storableText } from "./sql.ts";

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

/** Writes a batch of SCIM request log entries in one statement. */
export async function insertScimRequests(sequelize: Sequelize, batch: ScimRequestEntry[]): Promise<void> {
  // One column array per parameter: the statement text is the same for any batch size, so it is
  // prepared once per connection instead of parsed and planned with thousands of parameters.
  const column = <T>(pick: (e: ScimRequestEntry) => T) => batch.map(pick);
  await execute(
    sequelize,
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
}
