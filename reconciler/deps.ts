import type { AppDeps } from "../server/deps.ts";
import type { Logger } from "../server/logger.ts";
import type { ReconcileDeps } from "./job.ts";

/** A reconcile run's dependencies from the process's (the directory client settings come from config.directory). */
export function reconcileDepsFrom(deps: AppDeps, logger: Logger = deps.logger): ReconcileDeps {
  return {
    sequelize: deps.db.sequelize,
    logger,
    metrics: deps.metrics,
    clock: deps.clock,
    directory: {
      client: { timeoutMs: deps.config.directory.timeoutMs, rateLimitShare: deps.config.directory.rateLimitShare },
      pending: {
        pendingTtlMs: deps.config.scim.pendingMembershipTtlHours * 3_600_000,
        maxPendingPerGroup: deps.config.scim.maxPendingMembersPerGroup,
        maxPendingPerOrganization: deps.config.scim.maxPendingMembersPerOrganization,
      },
    },
  };
}
