import type { Sequelize } from "sequelize";
import type { MembershipRow, UserRow } from "./rows.ts";
import { select, selectPlannedEachTime } from "./sql.ts";
import { UsersStatistics } from "./usersStatistics.ts";
import { USER_MEMBERSHIPS_COLUMN } from "./membershipQueries.ts";

/** A key an IdP looks users up by before writing (`userName eq "…"`, `externalId eq "…"`). */
export type UserKey = { organizationId: string; field: "userName" | "externalId"; value: string };

type UserWithMemberships = UserRow & { memberships?: MembershipRow[] };

type Waiting = { key: UserKey; resolve(rows: UserWithMemberships[]): void; reject(error: unknown): void };

/**
 * The join condition per key field; userName is case-insensitive, externalId case-exact. Both sides
 * are lowercased by PostgreSQL, as the unique index is: JavaScript lowercases some letters
 * differently (a final "Σ" becomes "ς" there, "σ" in PostgreSQL).
 */
const MATCH: Record<UserKey["field"], string> = {
  userName: "lower(u.user_name) = lower(k.value)",
  externalId: "u.external_id = k.value",
};

/**
 * The statement is prepared, and PostgreSQL plans a prepared statement's generic plan for an
 * `unnest` of 10 elements, but each custom plan for the real count. With one or two lookups a batch
 * the custom plans always look cheaper, so it re-planned every execution (0.2 ms of PostgreSQL CPU
 * per lookup once users had statistics). Arrays padded with NULL pairs (which match nothing, and
 * cost a probe each) to at least 16 make the generic plan the cheaper one, so it is planned once.
 */
const MIN_BATCH_ARRAY = 16;

function padded(values: string[]): Array<string | null> {
  let size = MIN_BATCH_ARRAY;
  while (size < values.length) size *= 2;
  return [...values, ...new Array<null>(size - values.length).fill(null)];
}

/**
 * The statement a batch of lookups sends, with its bind values (exported for the plan test and the
 * bench's limit comparison, which must run exactly what the server runs).
 *
 * LATERAL makes each pair an index probe: as a plain join, the generic plan of this prepared
 * statement (which guesses 10 pairs and 500 users per pair) hash-joins a scan of all users. The
 * probe has no ORDER BY of its own (OFFSET 0 keeps it a separate, parameterised scan): ordered by
 * created_at inside, PostgreSQL without statistics on users preferred `users_org_page_idx`, which
 * returns an organization's users already in that order, and filtered every one of them by name on
 * every probe. Unordered, the index holding both the organization and the key is the cheapest.
 */
export function userKeyLookupQuery(field: UserKey["field"], withMemberships: boolean, keys: UserKey[]): { text: string; values: unknown[] } {
  return {
    text: `SELECT k.lookup::int AS lookup, u.*${withMemberships ? USER_MEMBERSHIPS_COLUMN : ""}
           FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(organization_id, value, lookup)
           CROSS JOIN LATERAL (
             SELECT * FROM users u
              WHERE u.organization_id = k.organization_id AND ${MATCH[field]} AND u.deleted_at IS NULL
             OFFSET 0
           ) u
          ORDER BY k.lookup, u.created_at, u.id`,
    values: [padded(keys.map((k) => k.organizationId)), padded(keys.map((k) => k.value))],
  };
}

/**
 * Every IdP write starts with a lookup (`GET /Users?filter=userName eq "…"`), so these are the
 * busiest reads. Lookups that arrive while earlier ones are still at the database are answered
 * together by one query over `unnest` of (organization, value) pairs: at 32 concurrent requests
 * that is one round trip for many requests instead of one each. With nothing in flight a lookup
 * goes out at once, so a lone request never waits for company.
 *
 * Each pair carries its own organization and the join requires it, so one batch may serve several
 * tenants without any of them seeing another's rows.
 */
export class UserKeyLookups {
  private readonly queues = new Map<string, Waiting[]>();
  private inFlight = 0;
  /** Whether users has planner statistics yet (and, until it has, the one gathering them). */
  private readonly statistics: UsersStatistics;

  constructor(
    private readonly sequelize: Sequelize,
    private readonly options = { maxInFlight: 2, maxBatch: 200 },
  ) {
    this.statistics = new UsersStatistics(sequelize);
  }

  /** Live users holding the key, oldest first (with their memberships when asked). */
  find(key: UserKey, withMemberships: boolean): Promise<UserWithMemberships[]> {
    return new Promise((resolve, reject) => {
      const group = `${key.field}:${withMemberships}`;
      const queue = this.queues.get(group) ?? [];
      this.queues.set(group, queue);
      queue.push({ key, resolve, reject });
      this.pump();
    });
  }

  /** Sends queued lookups while slots are free, taking the groups in turn so none waits behind a busy one. */
  private pump(): void {
    while (this.inFlight < this.options.maxInFlight) {
      const next = [...this.queues].find(([, queue]) => queue.length > 0);
      if (!next) return;
      const [group, queue] = next;
      // The group just served goes to the back of the line.
      this.queues.delete(group);
      this.queues.set(group, queue);
      const batch = queue.splice(0, this.options.maxBatch);
      const [field, withMemberships] = group.split(":") as [UserKey["field"], string];
      this.inFlight++;
      void this.run(field, withMemberships === "true", batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async run(field: UserKey["field"], withMemberships: boolean, batch: Waiting[]): Promise<void> {
    try {
      const query = userKeyLookupQuery(field, withMemberships, batch.map((w) => w.key));
      // A generic plan is kept per connection until the next ANALYZE, so one made before users had
      // statistics could stay wrong for a minute (see UsersStatistics): until then, plan for the values.
      const send = this.statistics.ready() ? select : selectPlannedEachTime;
      const rows = await send<UserWithMemberships & { lookup: number }>(this.sequelize, query.text, query.values);
      const byLookup = batch.map((): UserWithMemberships[] => []);
      for (const { lookup, ...row } of rows) byLookup[lookup - 1]?.push(row);
      batch.forEach((waiting, i) => waiting.resolve(byLookup[i]!));
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
    }
  }
}
