import type { Sequelize, Transaction } from "sequelize";
import { tryLockKey } from "../server/models/sql.ts";
import { writeTransaction } from "../server/db/transactions.ts";

/**
 * How a run talks to the database while it holds its organization's lock. Every query of the run
 * goes through this, because with a one-connection pool the lock's transaction is the only
 * connection there is.
 */
export type RunExecutor = {
  /** Transaction reads must join: the lock's own on a one-connection pool, else null (the pool). */
  readonly readTx: Transaction | null;
  /** Runs one fix atomically: in its own transaction, or a savepoint of the lock's on a one-connection pool. */
  write<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
};

/** Why a run did not get its organization. */
export type LockRefusal = "running_in_this_process" | "locked_by_another_process";

export type LockOutcome<T> = { acquired: true; value: T } | { acquired: false; reason: LockRefusal };

/*
 * Runs in progress per Sequelize instance (i.e. per process and pool). On a one-connection pool a
 * second run would otherwise queue for the only connection instead of seeing the lock taken; keyed
 * by instance so two pools in one test process behave like two replicas.
 */
const inProcess = new WeakMap<Sequelize, Set<string>>();

/** A lock transaction plus one connection for the work needs a pool of at least this size. */
const DEDICATED_POOL_MIN = 3;

/** The advisory lock key of an organization's reconcile runs (hashtextextended, as lockKeys uses). */
export const orgLockKey = (organizationId: string) => `rollcall:reconcile:${organizationId}`;

/** Whether this Sequelize pool can hold the lock on one connection while the run works on others. */
export function hasDedicatedLockConnection(sequelize: Sequelize): boolean {
  return (sequelize.config.pool?.max ?? 1) >= DEDICATED_POOL_MIN;
}

/**
 * Runs `fn` while holding the organization's reconcile lock, or refuses at once if another run
 * holds it. The lock is `pg_try_advisory_xact_lock` in a transaction that lives for the run, so
 * it is released by commit, rollback or a dropped connection, and never leaks into a pooled
 * connection. With a pool big enough, fixes commit independently on other connections; on a
 * one-connection pool (embedded PGlite) the run works inside the lock's transaction and each fix
 * is a savepoint, committed when the run ends (also when it fails: completed fixes are kept).
 */
export async function withOrgLock<T>(sequelize: Sequelize, organizationId: string, fn: (exec: RunExecutor) => Promise<T>): Promise<LockOutcome<T>> {
  let running = inProcess.get(sequelize);
  if (!running) inProcess.set(sequelize, (running = new Set()));
  if (running.has(organizationId)) return { acquired: false, reason: "running_in_this_process" };
  running.add(organizationId);
  try {
    const lockTx = await sequelize.transaction();
    let value: T;
    try {
      if (!(await tryLockKey(sequelize, lockTx, orgLockKey(organizationId)))) {
        await lockTx.rollback();
        return { acquired: false, reason: "locked_by_another_process" };
      }
      const exec: RunExecutor = hasDedicatedLockConnection(sequelize)
        ? { readTx: null, write: (work) => writeTransaction(sequelize, (tx) => work(tx)) }
        : { readTx: lockTx, write: (work) => sequelize.transaction({ transaction: lockTx }, (tx) => work(tx)) };
      value = await fn(exec);
    } catch (error) {
      // Fixes that completed are kept, as they are on a dedicated pool; PostgreSQL turns the commit
      // of a transaction a failed statement aborted into a rollback.
      await lockTx.commit().catch(() => lockTx.rollback().catch(() => undefined));
      throw error;
    }
    await lockTx.commit();
    return { acquired: true, value };
  } finally {
    running.delete(organizationId);
  }
}
