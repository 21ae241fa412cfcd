import Router from "@koa/router";
import { z } from "zod";
import type { AppDeps } from "../deps.ts";
import { AppError, NotFoundError } from "../errors.ts";
import { reconcileOrganization, DEFAULT_STALE_TEAM_DAYS } from "../../reconciler/job.ts";
import { presentRun } from "../../reconciler/runPresenter.ts";
import { findRun, listRuns, repairSetting } from "../../reconciler/runStore.ts";
import { FINDING_KINDS } from "../../reconciler/types.ts";
import { reconcileDepsFrom } from "../../reconciler/deps.ts";
import { BlastRadiusError } from "../../reconciler/directory/guard.ts";
import { directoriesOf } from "../../reconciler/directory/directoryStore.ts";
import { DirectoryAuthError, DirectoryRequestError } from "../../reconciler/directory/connectors/types.ts";
import { listQuery } from "./schemas.ts";
import { presentList } from "./presenters.ts";
import { resolveOrgParam, type OrgState } from "./orgParam.ts";
import { documented } from "./apiDocs.ts";
import { listOf, reconcileRun } from "./responseSchemas.ts";

const reconcileBody = z.strictObject({
  repair: z.boolean().optional(),
  stale_team_days: z.number().int("must be a whole number of days").min(1).max(3650).optional(),
  kinds: z.array(z.enum(FINDING_KINDS)).min(1, "name at least one kind").optional(),
  source: z.enum(["local", "idp", "all"]).optional(),
  force: z.boolean().optional(),
  directory_mode: z.enum(["full", "incremental", "auto"]).optional(),
});

/** Reconcile runs of an organization: start one now (report or repair), list them, read one with its findings. */
export function buildReconcileRouter(deps: AppDeps): Router<OrgState> {
  const router = new Router<OrgState>({ prefix: "/v1/organizations/:org" });
  resolveOrgParam(router, deps.models);
  const { sequelize } = deps.db;

  documented(router, {
    method: "post",
    path: "/v1/organizations/:org/reconcile",
    tag: "Reconcile",
    summary: "Run a reconcile pass now (report, or repair)",
    body: reconcileBody,
    responses: { 201: { description: "The finished run with its findings.", schema: reconcileRun } },
  });
  router.post("/reconcile", async (ctx) => {
    const body = reconcileBody.parse(ctx.state.body ?? {});
    const organizationId = ctx.state.organizationId;
    if (body.source === "idp" && (await directoriesOf(sequelize, organizationId)).length === 0) {
      throw new AppError(409, "directory_not_configured", "source \"idp\" needs a directory: PUT …/enterprise_connections/:id/directory first.");
    }
    const result = await reconcileOrganization(reconcileDepsFrom(deps, ctx.state.log), {
      organizationId,
      repair: body.repair ?? (await repairSetting(sequelize, organizationId)),
      trigger: "api",
      kinds: body.kinds,
      staleTeamDays: body.stale_team_days ?? DEFAULT_STALE_TEAM_DAYS,
      source: body.source,
      force: body.force,
      // A run asked for by hand is a full pass unless it says otherwise; the schedule alternates.
      directoryMode: body.directory_mode ?? "full",
    });
    if (result.skipped) {
      throw new AppError(409, "reconcile_in_progress", result.run.error ?? "Another reconcile run of this organization is in progress; try again when it ends.", {
        meta: { run_id: result.run.id, reason: result.skipped },
      });
    }
    if (result.crashed instanceof BlastRadiusError) {
      throw new AppError(409, "blast_radius_exceeded", result.crashed.message, { meta: { run_id: result.run.id, ...result.crashed.radius } });
    }
    if (result.crashed instanceof DirectoryAuthError || result.crashed instanceof DirectoryRequestError) {
      throw new AppError(502, "directory_pull_failed", `${result.crashed.message.replace(/\.?$/, ".")} Nothing was changed; the run is recorded as ${result.run.id}.`, {
        meta: { run_id: result.run.id, provider: result.crashed.provider, status: result.crashed.status },
      });
    }
    if (result.crashed) {
      throw new AppError(500, "reconcile_failed", `The reconcile run failed and was recorded as ${result.run.id}; retry, and check the logs if it fails again.`, {
        meta: { run_id: result.run.id },
        cause: result.crashed,
      });
    }
    ctx.status = 201;
    ctx.body = presentRun(result.run);
  });

  documented(router, {
    method: "get",
    path: "/v1/organizations/:org/reconcile_runs",
    tag: "Reconcile",
    summary: "List reconcile runs, newest first",
    query: listQuery,
    responses: { 200: { description: "A page of runs (without findings).", schema: listOf(reconcileRun) } },
  });
  router.get("/reconcile_runs", async (ctx) => {
    const { limit, after } = listQuery.parse(ctx.query);
    const rows = await listRuns(sequelize, ctx.state.organizationId, { limit: limit + 1, before: after });
    ctx.body = presentList(rows.map(presentRun), limit);
  });

  documented(router, {
    method: "get",
    path: "/v1/organizations/:org/reconcile_runs/:id",
    tag: "Reconcile",
    summary: "Get a reconcile run with its findings",
    params: { id: "The run id (`run_…`)." },
    responses: { 200: { description: "The run.", schema: reconcileRun } },
  });
  router.get("/reconcile_runs/:id", async (ctx) => {
    const row = await findRun(sequelize, ctx.state.organizationId, ctx.params.id ?? "");
    if (!row) throw new NotFoundError("Reconcile run", ctx.params.id);
    ctx.body = presentRun(row);
  });

  return router;
}
