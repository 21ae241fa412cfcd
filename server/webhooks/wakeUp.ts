import type { Sequelize, Transaction } from "sequelize";
import { notifyDeliveriesDue } from "./deliveryStore.ts";

/*
 * Waking a dispatcher when deliveries commit, without slowing the commits down.
 *
 * A NOTIFY inside the writer's transaction is what PostgreSQL offers, but a transaction that has
 * issued NOTIFY takes one cluster-wide lock at commit and holds it through its WAL flush, so every
 * SCIM write that announced an event committed one at a time (creates fell from 561/s to 127/s;
 * migrations/20261207040100). So the writer announces nothing inside its transaction. Instead,
 * once it has committed:
 * - a dispatcher in the same process (and on the same database) is told directly: no round trip,
 *   nothing in PostgreSQL (the usual case: `rollcall serve` runs its dispatcher);
 * - otherwise one NOTIFY is sent from outside the writer's transaction, at most one at a time and at
 *   most one per NOTIFY_GAP_MS per process: commits in between share it. The writer never waits for it.
 * Dispatchers still poll while idle, so a lost announcement (or another process's writer) costs
 * at most one poll interval.
 */

/** The channel dispatchers LISTEN on (server/webhooks/dispatcher.ts). */
export const WEBHOOKS_DUE_CHANNEL = "rollcall_webhooks_due";

/** Least time between two NOTIFYs of one process: a burst of commits shares one announcement. */
const NOTIFY_GAP_MS = 5;

type Channel = {
  listeners: Set<() => void>;
  notifying: boolean;
  /** A commit arrived while a NOTIFY was on its way: send one more after it. */
  again: boolean;
};

const channels = new Map<string, Channel>();
const announced = new WeakSet<Transaction>();

/** Two pools (Sequelize instances) of this process on the same database share one channel. */
function channelOf(sequelize: Sequelize): Channel {
  const { host, port, database } = sequelize.config;
  const key = `${host ?? ""}:${port ?? ""}/${database ?? ""}`;
  let channel = channels.get(key);
  if (!channel) channels.set(key, (channel = { listeners: new Set(), notifying: false, again: false }));
  return channel;
}

/** Calls `listener` whenever this process commits deliveries to the database `sequelize` is on; returns the unsubscribe. */
export function onDeliveriesCommitted(sequelize: Sequelize, listener: () => void): () => void {
  const channel = channelOf(sequelize);
  channel.listeners.add(listener);
  return () => channel.listeners.delete(listener);
}

/**
 * Announces that deliveries were written: after `transaction` commits (nothing if it rolls back),
 * or at once for a statement that committed on its own.
 */
export function deliveriesCommitted(sequelize: Sequelize, transaction?: Transaction | null): void {
  if (!transaction) {
    announce(sequelize);
    return;
  }
  if (announced.has(transaction)) return;
  announced.add(transaction);
  transaction.afterCommit(() => announce(sequelize));
}

function announce(sequelize: Sequelize): void {
  const channel = channelOf(sequelize);
  if (channel.listeners.size > 0) {
    for (const listener of channel.listeners) listener();
    return;
  }
  if (channel.notifying) {
    channel.again = true;
    return;
  }
  channel.notifying = true;
  channel.again = false;
  // A failed NOTIFY only costs latency (dispatchers poll), so it is not reported to the writer.
  notifyDeliveriesDue(sequelize, WEBHOOKS_DUE_CHANNEL)
    .catch(() => undefined)
    .then(() => new Promise((resolve) => setTimeout(resolve, NOTIFY_GAP_MS).unref()))
    .then(() => {
      channel.notifying = false;
      if (channel.again) announce(sequelize);
    });
}
