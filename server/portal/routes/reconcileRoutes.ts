import type Router from "@koa/router";
import { z } from "zod";
import type { AppDeps } from "../../deps.ts";
import { NotFoundError, ValidationError } from "../../errors.ts";
import { reconcileOrganization, type ReconcileResult, type ReconcileSource } from "../../../reconciler/job.ts";
import { reconcileDepsFrom } from "../../../reconciler/deps.ts";
import { findRun, listRuns } from "../../../reconciler/runStore.ts";
import { FINDING_KINDS, IDP_FINDING_KINDS, type FindingKind } from "../../../reconciler/types.ts";
import { BlastRadiusError } from "../../../reconciler/directory/guard.ts";
import { directoriesOf } from "../../../reconciler/directory/directoryStore.ts";
import { DirectoryAuthError, DirectoryRequestError } from "../../../reconciler/directory/connectors/types.ts";
import { mappingProgress } from "../../models/portalReadModel.ts";
import type { PortalContext, PortalState } from "../context.ts";
import { auditPortalAction } from "../audit.ts";
import { blastRadius } from "../blastRadius.ts";
import { renderPage, seeOther } from "../render.ts";
import { blastRadiusRefusedView, reconcileView, repairConfirmView, runView } from "../views/reconcileView.ts";

const sourceField = z.enum(["local", "idp", "all"]);

function kindOf(value: unknown): FindingKind {
  if (typeof value === "string" && (FINDING_KINDS as readonly string[]).includes(value)) return value as FindingKind;
  throw new ValidationError(`kind: must be one of ${FINDING_KINDS.join(", ")}`);
}

/** A repair of one kind reads only what that kind needs: the IdP's directory for idp_* kinds, nothing else otherwise. */
const sourceForKind = (kind: FindingKind): ReconcileSource => ((IDP_FINDING_KINDS as readonly string[]).includes(kind) ? "idp" : "local");

/** Why a run did not finish, in words for the page, and the status it is shown with. */
function failureOf(result: ReconcileResult): { error: string; status: number } | undefined {
  if (result.skipped) return { error: result.run.error ?? "Another run is in progress.", status: 409 };
  const crashed = result.crashed;
  if (!crashed) return undefined;
  if (crashed instanceof DirectoryAuthError || crashed instanceof DirectoryRequestError) {
    return { error: `Rollcall could not read the IdP's directory: ${crashed.message.replace(/\.?$/, ".")} Nothing was changed.`, status: 502 };
  }
  return { error: result.run.error ?? "The run did not complete; try again in a minute.", status: 500 };
}

/** Reconcile runs: start a report run (local, IdP or both), read findings, confirm and run a repair of one kind. */
export function reconcileRoutes(router: Router<PortalState>, deps: AppDeps): void {
  const { sequelize } = deps.db;

  async function runOf(ctx: PortalContext) {
    const run = await findRun(sequelize, ctx.state.portal.organizationId, ctx.params.id ?? "");
    if (!run) throw new NotFoundError("Reconcile run", ctx.params.id);
    return run;
  }

  async function listPage(ctx: PortalContext, extra: { error?: string; status?: number } = {}) {
    const organizationId = ctx.state.portal.organizationId;
    const [runs, directories] = await Promise.all([listRuns(sequelize, organizationId, { limit: 50 }), directoriesOf(sequelize, organizationId)]);
    renderPage(ctx, "/portal/reconcile", "Reconciliation", reconcileView({ session: ctx.state.portal, runs, hasDirectory: directories.length > 0, error: extra.error }), extra.status);
  }

  /** Runs reconcileOrganization for the session's organization, with the same directory settings as the admin API's runs. */
  async function start(ctx: PortalContext, props: { repair: boolean; source: ReconcileSource; kinds?: FindingKind[]; force?: boolean }) {
    const session = ctx.state.portal;
    const result = await reconcileOrganization(reconcileDepsFrom(deps, ctx.state.log), {
      organizationId: session.organizationId, repair: props.repair, trigger: "api", kinds: props.kinds, source: props.source, force: props.force, directoryMode: "full",
    });
    await auditPortalAction(sequelize, session, {
      action: props.repair ? "reconcile.repair_requested" : "reconcile.run_requested",
      subjectType: "reconcile_run",
      subjectId: result.run.id,
      changes: { kinds: props.kinds ?? "all", source: props.source, ...(props.force ? { force: true } : {}) },
    }, deps.clock.now());
    return result;
  }

  router.get("/reconcile", (ctx) => listPage(ctx));

  router.post("/reconcile", async (ctx) => {
    const organizationId = ctx.state.portal.organizationId;
    const hasDirectory = (await directoriesOf(sequelize, organizationId)).length > 0;
    const requested = sourceField.safeParse(ctx.state.form.source ?? (hasDirectory ? "all" : "local"));
    if (!requested.success) throw new ValidationError("source: must be one of local, idp, all");
    if (requested.data !== "local" && !hasDirectory) {
      return listPage(ctx, { error: "Comparing with the IdP needs a directory connection: set one up on the Directory page first.", status: 409 });
    }
    const result = await start(ctx, { repair: false, source: requested.data });
    const failure = failureOf(result);
    if (failure) return listPage(ctx, failure);
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
    const run = await runOf(ctx);
    const kind = kindOf(ctx.state.form.kind);
    const force = ctx.state.form.force === "true";
    const result = await start(ctx, { repair: true, kinds: [kind], source: sourceForKind(kind), force });
    if (result.crashed instanceof BlastRadiusError) {
      // The directory guard refused: nothing changed. The admin sees its numbers and may force it.
      renderPage(ctx, "/portal/reconcile", "Confirm repair", blastRadiusRefusedView({ session: ctx.state.portal, run, kind, radius: result.crashed.radius }), 409);
      return;
    }
    const failure = failureOf(result);
    if (failure) return listPage(ctx, failure);
    seeOther(ctx, `/portal/reconcile/runs/${result.run.id}?notice=repair_finished`);
  });
}
