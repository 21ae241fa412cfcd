import { createHash } from "node:crypto";
import pg from "pg";
import { DatabaseError, ForeignKeyConstraintError, UniqueConstraintError, type Sequelize, type Transaction } from "sequelize";

/**
 * Hand-written SQL runs here, on the driver connection Sequelize pools (or the transaction's own),
 * as a named prepared statement. On this schema PostgreSQL spends far longer planning a lookup than
 * running it (users carries six partial and expression indexes): 0.78 ms of planning against 0.11
 * ms of execution for a `userName eq` search. A prepared statement is planned once per connection
 * and then reused (pgbench: 4,300 → 25,000 searches/s), and skipping Sequelize's query pipeline
 * halves the client CPU per query.
 *
 * Statements are named by a hash of their text. Compiled SCIM filters make the set of texts open
 * ended, so each connection keeps at most MAX_PREPARED_PER_CONNECTION of them, deallocating the
 * least recently used.
 */
const MAX_PREPARED_PER_CONNECTION = 200;

type Client = pg.Client & { connection: { parsedStatements: Record<string, string> } };

/** Per connection: statement names, least recently used first, with how many queries use each right now. */
const statementsByClient = new WeakMap<Client, Map<string, { inUse: number }>>();
const nameBySql = new Map<string, string>();

function statementName(sql: string): string {
  let name = nameBySql.get(sql);
  if (name === undefined) {
    name = `rc_${createHash("sha1").update(sql).digest("hex").slice(0, 20)}`;
    if (nameBySql.size >= 10_000) nameBySql.clear();
    nameBySql.set(sql, name);
  }
  return name;
}

/**
 * Marks a statement as used by one more query on the connection and, when the connection holds too
 * many, deallocates the least recently used one that no query is using. node-postgres's own
 * parsedStatements is the truth about what the server has prepared (it is filled on ParseComplete),
 * so a statement whose preparation failed is simply forgotten, never deallocated.
 */
async function reserveStatement(client: Client, name: string): Promise<void> {
  let statements = statementsByClient.get(client);
  if (!statements) statementsByClient.set(client, (statements = new Map()));
  const entry = statements.get(name) ?? { inUse: 0 };
  statements.delete(name);
  statements.set(name, entry);
  entry.inUse++;
  if (statements.size <= MAX_PREPARED_PER_CONNECTION) return;
  for (const [candidate, { inUse }] of statements) {
    if (inUse > 0) continue;
    statements.delete(candidate);
    if (client.connection.parsedStatements[candidate] === undefined) return;
    // Forgotten by the driver first: a later query of the same text, queued behind the DEALLOCATE, parses it afresh.
    delete client.connection.parsedStatements[candidate];
    // If DEALLOCATE fails (the connection broke, or its transaction is aborted), the server may still
    // hold the statement the driver now believes gone, and preparing it again would fail: the pool
    // drops the connection. The query that follows reports the failure itself.
    await client.query(`DEALLOCATE ${candidate}`).catch(() => {
      (client as Client & { _invalid?: boolean })._invalid = true;
    });
    return;
  }
}

function releaseStatement(client: Client, name: string): void {
  const entry = statementsByClient.get(client)?.get(name);
  if (entry) entry.inUse--;
}

/** "Key (organization_id, slug)=(org_1, acme) already exists." → { organization_id: "org_1", slug: "acme" } */
function uniqueFields(detail: string | undefined): Record<string, string> {
  const match = detail?.match(/^Key \((.+)\)=\((.*)\) already exists\.?$/);
  if (!match) return {};
  const columns = match[1]!.split(", ");
  const values = match[2]!.split(", ");
  return columns.length === values.length ? Object.fromEntries(columns.map((c, i) => [c, values[i]!])) : {};
}

/** PostgreSQL refusing a cached plan whose result columns changed since it was prepared. */
export function isStalePlan(error: unknown): boolean {
  const cause = (error as { parent?: unknown })?.parent ?? error;
  return cause instanceof pg.DatabaseError && cause.code === "0A000" && /cached plan must not change result type/.test(cause.message);
}

/**
 * Driver errors become the Sequelize errors the rest of Rollcall (the error handler, the deadlock
 * retry) already understands, so there is still one error model. Connection-level errors (no
 * SQLSTATE) pass through unchanged; the error handler recognises them.
 */
function asSequelizeError(error: unknown, sql: string): unknown {
  if (!(error instanceof pg.DatabaseError)) return error;
  const parent = Object.assign(error, { sql, parameters: {} });
  const message = error.detail ?? error.message;
  if (error.code === "23505") return new UniqueConstraintError({ parent, message, fields: uniqueFields(error.detail) });
  if (error.code === "23503") return new ForeignKeyConstraintError({ parent, message });
  return new DatabaseError(parent);
}

async function run<T>(sequelize: Sequelize, sql: string, bind: unknown[], transaction: Transaction | null | undefined, prepared = true): Promise<T[]> {
  const own = (transaction as (Transaction & { connection?: Client }) | null | undefined)?.connection;
  const client = own ?? ((await sequelize.connectionManager.getConnection({ type: "write" })) as Client);
  const name = prepared ? statementName(sql) : "";
  try {
    if (prepared) await reserveStatement(client, name);
    // No name: PostgreSQL's unnamed statement, parsed and planned for these values on every execution.
    const result = await client.query<T & pg.QueryResultRow>(prepared ? { name, text: sql, values: bind } : { text: sql, values: bind });
    return result.rows;
  } catch (error) {
    if (isStalePlan(error)) {
      // A migration changed a table under this connection's prepared statements (a rolling deploy):
      // every `SELECT *` / `RETURNING *` of it would now fail the same way. The pool drops the
      // connection instead of lending it again, and this request fails as retryable (503).
      (client as Client & { _invalid?: boolean })._invalid = true;
    }
    throw asSequelizeError(error, sql);
  } finally {
    if (prepared) releaseStatement(client, name);
    if (!own) sequelize.connectionManager.releaseConnection(client);
  }
}

/**
 * PostgreSQL text cannot hold U+0000. Text Rollcall stores on its own account (a request path, an
 * error message that echoes the request, a consumer's response) gets U+FFFD in its place, so one
 * such character cannot make a whole log batch fail. Input an IdP asks to store is refused instead (400).
 */
export function storableText(text: string): string;
export function storableText(text: string | null): string | null;
export function storableText(text: string | null): string | null {
  return text === null || !text.includes("\u0000") ? text : text.replaceAll("\u0000", "\uFFFD");
}

/** Runs a SELECT with positional bind parameters inside an optional transaction. */
export function select<T extends object>(sequelize: Sequelize, sql: string, bind: unknown[], transaction?: Transaction | null): Promise<T[]> {
  return run<T>(sequelize, sql, bind, transaction);
}

/**
 * Runs a SELECT planned for its values on every execution (no prepared statement, no generic plan):
 * for a statement whose cached plan could be wrong because the tables had no statistics when it was
 * made (see userKeyLookups.ts). Costs a parse and a plan each time.
 */
export function selectPlannedEachTime<T extends object>(sequelize: Sequelize, sql: string, bind: unknown[], transaction?: Transaction | null): Promise<T[]> {
  return run<T>(sequelize, sql, bind, transaction, false);
}

/** Runs a statement (INSERT/UPDATE/DELETE) and returns its RETURNING rows, if any. */
export function execute<T extends object = Record<string, unknown>>(
  sequelize: Sequelize,
  sql: string,
  bind: unknown[],
  transaction?: Transaction | null,
): Promise<T[]> {
  return run<T>(sequelize, sql, bind, transaction);
}

/**
 * Takes transaction-scoped advisory locks on string keys, in sorted order so two writers never
 * deadlock. Used to serialise creates of the same userName/externalId without aborting the
 * transaction on a unique violation.
 */
export async function lockKeys(sequelize: Sequelize, transaction: Transaction, keys: string[]): Promise<void> {
  const unique = [...new Set(keys)].sort();
  if (unique.length === 0) return;
  // unnest keeps the (sorted) array order, so locks are always taken in the same order.
  await execute(sequelize, `SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest($1::text[]) AS k`, [unique], transaction);
}

/** Takes a transaction-scoped advisory lock on a string key if it is free; false when another session holds it. */
export async function tryLockKey(sequelize: Sequelize, transaction: Transaction, key: string): Promise<boolean> {
  const [row] = await select<{ locked: boolean }>(sequelize, `SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AS locked`, [key], transaction);
  return row?.locked === true;
}
