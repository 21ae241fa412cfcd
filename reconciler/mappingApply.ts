import { setTimeout as sleep } from "node:timers/promises";
import type { Sequelize } from "sequelize";
import { reconcileOrganization, type ReconcileDeps } from "./job.ts";

/** What a mapping update with `?apply=true` answers about the repair it started. */
export type MappingApply = { status: "scheduled"; repair: true; kinds: ["mapping_drift"]; trigger: "mapping_apply" };

type Background = { tasks: Set<Promise<void>>; abort: AbortController };

/* Background applies per pool, so a process can wait for them (or cut their retries) on shutdown. */
const background = new WeakMap<Sequelize, Background>();

function stateOf(sequelize: Sequelize): Background {
  let state = background.get(sequelize);
  if (!state) background.set(sequelize, (state = { tasks: new Set(), abort: new AbortController() }));
  return state;
}

/**
 * Starts, in the background, a repair run limited to mapping drift, so existing users follow the
 * mapping version just stored. If another run holds the organization, it tries again after
 * `retryMs` (that run may have loaded the old mapping), up to `attempts` times.
 */
export function scheduleMappingApply(
  deps: ReconcileDeps,
  organizationId: string,
  options: { retryMs?: number; attempts?: number } = {},
): MappingApply {
  const retryMs = options.retryMs ?? 15_000;
  const attempts = options.attempts ?? 20;
  const state = stateOf(deps.sequelize);
  const { signal } = state.abort;
  const logger = deps.logger.child({ organizationId, trigger: "mapping_apply" });
  const task = (async () => {
    for (let attempt = 1; attempt <= attempts && !signal.aborted; attempt++) {
      const result = await reconcileOrganization(deps, { organizationId, repair: true, trigger: "mapping_apply", kinds: ["mapping_drift"], signal });
      if (!result.skipped) return;
      if (attempt < attempts) await sleep(retryMs, undefined, { signal, ref: false }).catch(() => undefined);
    }
    logger.warn({ attempts }, "mapping apply gave up: the organization stayed locked by other runs");
  })()
    .catch((error: unknown) => logger.error({ err: error }, "mapping apply failed"))
    .finally(() => state.tasks.delete(task));
  state.tasks.add(task);
  return { status: "scheduled", repair: true, kinds: ["mapping_drift"], trigger: "mapping_apply" };
}

/** Stops retrying background applies of this pool and waits for the ones running (on shutdown). */
export async function settleMappingApplies(sequelize: Sequelize): Promise<void> {
  const state = background.get(sequelize);
  if (!state) return;
  state.abort.abort();
  await Promise.all([...state.tasks]);
  background.delete(sequelize);
}
