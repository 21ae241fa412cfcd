import type Router from "@koa/router";
import type { AppDeps } from "../../deps.ts";
import { NotFoundError, ValidationError } from "../../errors.ts";
import { reconcileOrganization } from "../../../reconciler/job.ts";
import { findRun, listRuns } from "../../../reconciler/runStore.ts";
import { FINDING_KINDS, type FindingKind } from "../../../reconciler/types.ts";
import { mappingProgress } from "../../models/portalReadModel.ts";
import type { PortalContext, PortalState } from "../context.ts";
import { auditPortalAction } from "../audit.ts";
import { blastRadius } from "../blastRadius.ts";
import { renderPage, seeOther } from "../render.ts";
import { reconcileView, repairConfirmView, runView } from "../views/reconcileView.ts";

function kindOf(value: unknown): FindingKind {
  if (typeof value === "string" && (FINDING_KINDS as readonly string[]).includes(value)) return value as FindingKind;
  throw new ValidationError(`kind: must be one of ${FINDING_KINDS.join(", ")}`);
}

/** Reconcile runs: start a report run, read findings, confirm and run a repair of one kind. */
export function reconcileRoutes(router: Router<PortalState>, deps: AppDeps): void {
  const { sequelize } = deps.db;
  const reconcileDeps = { sequelize, logger: deps.logger, metrics: deps.metrics, clock: deps.clock };

  async function runOf(ctx: PortalContext) {
    const run = await findRun(sequelize, ctx.state.portal.organizationId, ctx.params.id ?? "");
    if (!run) throw new NotFoundError("Reconcile run", ctx.params.id);
    return run;
  }

  /** Runs reconcileOrganization for the session's organization; a locked organization is reported on the page. */
  async function start(ctx: PortalContext, props: { repair: boolean; kinds?: FindingKind[] }) {
    const session = ctx.state.portal;
    const result = await reconcileOrganization(reconcileDeps, { organizationId: session.organizationId, repair: props.repair, trigger: "api", kinds: props.kinds });
    await auditPortalAction(sequelize, session, {
      action: props.repair ? "reconcile.repair_requested" : "reconcile.run_requested", subjectType: "reconcile_run", subjectId: result.run.id, changes: { kinds: props.kinds ?? "all" },
    }, deps.clock.now());
    return result;
  }

  router.get("/reconcile", async (ctx) => {
    const runs = await listRuns(sequelize, ctx.state.portal.organizationId, { limit: 50 });
    renderPage(ctx, "/portal/reconcile", "Reconciliation", reconcileView({ session: ctx.state.portal, runs }));
  });

  router.post("/reconcile", async (ctx) => {
    const result = await start(ctx, { repair: false });
    if (result.skipped || result.crashed) {
      const runs = await listRuns(sequelize, ctx.state.portal.organizationId, { limit: 50 });
      const error = result.run.error ?? "The run did not complete; try again in a minute.";
      renderPage(ctx, "/portal/reconcile", "Reconciliation", reconcileView({ session: ctx.state.portal, runs, error }), result.skipped ? 409 : 500);
      return;
    }
    seeOther(ctx, `/portal/reconcile/runs/${result.run.id}?notice=run_finished`);
  });

  router.get("/reconcile/runs/:id", async (ctx) => {
    const run = await runOf(ctx);
    renderPage(ctx, "/portal/reconcile", "Reconcile run", runView({ run }));
  });

  router.get("/reconcile/runs/:id/repair", async (ctx) => {
    const run = await runOf(ctx);
    const kind = kindOf(ctx.query.kind);
    const { active } = await mappingProgress(sequelize, ctx.state.portal.organizationId, null);
    const radius = blastRadius(run.findings, kind, active);
    renderPage(ctx, "/portal/reconcile", "Confirm repair", repairConfirmView({ session: ctx.state.portal, run, radius }));
  });

  router.post("/reconcile/runs/:id/repair", async (ctx) => {
    await runOf(ctx);
    const kind = kindOf(ctx.state.form.kind);
    const result = await start(ctx, { repair: true, kinds: [kind] });
    if (result.skipped) {
      const runs = await listRuns(sequelize, ctx.state.portal.organizationId, { limit: 50 });
      renderPage(ctx, "/portal/reconcile", "Reconciliation", reconcileView({ session: ctx.state.portal, runs, error: result.run.error ?? "Another run is in progress." }), 409);
      return;
    }
    seeOther(ctx, `/portal/reconcile/runs/${result.run.id}?notice=repair_finished`);
  });
}
