import type { Sequelize, Transaction } from "sequelize";
import { isStalePlan } from "../models/sql.ts";

/** SQLSTATEs after which the same transaction, run again from its start, can succeed. */
const RETRYABLE_CODES = new Set(["40P01", "40001"]);
const ATTEMPTS = 4;

function sqlState(error: unknown): string | undefined {
  const wrapped = error as { parent?: { code?: unknown }; original?: { code?: unknown } } | null;
  const code = wrapped?.parent?.code ?? wrapped?.original?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * Runs a write transaction, re-running it from the start (up to 4 attempts, with jitter) when
 * PostgreSQL aborts it as a deadlock or serialization victim. Writers of users, teams and
 * memberships can take those rows in different orders (a user PATCH and a group PATCH touching
 * that user); the victim rolled back completely, so running `work` again is safe. `work` must keep
 * all of its state inside the callback. A deadlock that survives every attempt reaches the error
 * handler, which answers 503.
 */
export async function writeTransaction<T>(sequelize: Sequelize, work: (transaction: Transaction) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await sequelize.transaction(work);
    } catch (error) {
      const code = sqlState(error);
      // A stale prepared plan (a migration ran meanwhile) dropped its connection; another one can succeed.
      const retryable = (code !== undefined && RETRYABLE_CODES.has(code)) || isStalePlan(error);
      if (attempt >= ATTEMPTS || !retryable) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20 * attempt));
    }
  }
}
