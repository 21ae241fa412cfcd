import type { Sequelize } from "sequelize";
import { execute, select } from "./sql.ts";

/**
 * Whether PostgreSQL has planner statistics for users, and, until it has, gathering them as soon as
 * the table holds a few pages (ANALYZE), instead of waiting up to a minute for autovacuum.
 *
 * Why (issue 14): without statistics PostgreSQL guesses that 0.5% of the rows satisfy
 * `deleted_at IS NULL`, the predicate of every partial index of users, so each partial index looks
 * like it holds a handful of rows and every index starting with organization_id (the page order,
 * the email, the externalId and the userName index) costs the same for one organization's probe.
 * It then picks one of them more or less by chance, for a prepared statement's generic plan as for
 * a plan made for the values, and a new tenant's lookups read every user of the organization per
 * probe (6,809 rows read per lookup at 4,469 users, measured): 94 lookups/s in the run. With
 * statistics of even a few hundred rows, the unique index holding the organization and the key is
 * the clear choice, and stays so as the table grows; every later ANALYZE (autovacuum's) remakes
 * cached plans.
 *
 * `ANALYZE (SKIP_LOCKED)` never waits for a lock (autovacuum or another process already at it), and
 * is skipped, not failed, if the role may not analyze the table: lookups then stay planned per
 * execution, which is correct for the table's size most of the time.
 */
export class UsersStatistics {
  private present = false;
  private checkedAt = -Infinity;
  private checking = false;

  constructor(
    private readonly sequelize: Sequelize,
    private readonly options = { checkEveryMs: 1000, analyzeFromBytes: 64 * 1024 },
  ) {}

  /** True once users has statistics; until then, looks (at most once per checkEveryMs, in the background) and analyzes. */
  ready(): boolean {
    if (!this.present && !this.checking && performance.now() - this.checkedAt >= this.options.checkEveryMs) {
      this.checking = true;
      this.checkedAt = performance.now();
      void this.check().finally(() => {
        this.checking = false;
      });
    }
    return this.present;
  }

  private async check(): Promise<void> {
    try {
      const [row] = await select<{ has_statistics: boolean; bytes: number }>(
        this.sequelize,
        `SELECT EXISTS (SELECT 1 FROM pg_stats s WHERE s.schemaname = n.nspname AND s.tablename = c.relname) AS has_statistics,
                pg_relation_size(c.oid)::float8 AS bytes
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.oid = 'users'::regclass`,
        [],
      );
      if (!row) return;
      if (row.has_statistics) {
        this.present = true;
        return;
      }
      // A table of a few pages is read whole quickly by any plan; past that, statistics now.
      if (row.bytes >= this.options.analyzeFromBytes) await execute(this.sequelize, `ANALYZE (SKIP_LOCKED) users`, []);
    } catch {
      // Not allowed to analyze, or the database is busy: look again at the next check.
    }
  }
}
