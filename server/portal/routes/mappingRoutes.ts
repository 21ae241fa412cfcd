import type Router from "@koa/router";
import { z } from "zod";
import type { AppDeps } from "../../deps.ts";
import { NotFoundError } from "../../errors.ts";
import { currentMapping, mappingVersions, storeMapping } from "../../commands/attributeMappings.ts";
import { DEFAULT_MAPPING_DOCUMENT, compileMapping } from "../../../mapping/index.ts";
import { findOrgUser, mappingProgress, searchUsers } from "../../models/portalReadModel.ts";
import { scheduleMappingApply } from "../../../reconciler/mappingApply.ts";
import type { PortalContext, PortalState } from "../context.ts";
import { portalActor } from "../audit.ts";
import { diffMappings } from "../mappingDiff.ts";
import { previewOnUser, readEditedMapping } from "../mappingEditor.ts";
import { queryString, renderPage, seeOther } from "../render.ts";
import { mappingDiffView, mappingView, previewFragment, progressFragment, type MappingPreview } from "../views/mappingView.ts";

const livePreviewBody = z.strictObject({ mapping: z.string().max(200_000), user_id: z.string().max(64) });

/** The attribute-mapping editor: validation, live preview on a provisioned user, save (and apply), versions. */
export function mappingRoutes(router: Router<PortalState>, deps: AppDeps): void {
  const { sequelize } = deps.db;

  async function preview(organizationId: string, userId: string, edited: ReturnType<typeof readEditedMapping>): Promise<MappingPreview | undefined> {
    if (!userId || !edited.compiled) return undefined;
    const user = await findOrgUser(sequelize, organizationId, userId);
    return user ? previewOnUser(sequelize, edited.compiled, user) : undefined;
  }

  async function page(ctx: PortalContext, props: { text?: string; userId?: string; problems?: string[]; status?: number }) {
    const organizationId = ctx.state.portal.organizationId;
    const [current, versions, users] = await Promise.all([
      currentMapping(sequelize, organizationId),
      mappingVersions(sequelize, organizationId),
      searchUsers(sequelize, organizationId, "", 100),
    ]);
    const text = props.text ?? JSON.stringify(current?.mapping ?? {}, null, 2);
    const edited = readEditedMapping(text);
    const problems = props.problems ?? edited.problems;
    const userId = props.userId ?? users[0]?.id ?? "";
    const applying = queryString(ctx, "applying") === "1"
      ? { version: current?.version ?? null, ...(await mappingProgress(sequelize, organizationId, current?.version ?? null)) }
      : undefined;
    renderPage(ctx, "/portal/mapping", "Attribute mapping", mappingView({
      session: ctx.state.portal,
      current,
      defaults: DEFAULT_MAPPING_DOCUMENT,
      documentText: text,
      problems,
      users,
      previewUserId: userId,
      preview: problems.length === 0 ? await preview(organizationId, userId, edited) : undefined,
      versions,
      applying,
    }), props.status);
  }

  router.get("/mapping", (ctx) => page(ctx, { userId: queryString(ctx, "user") || undefined }));

  router.post("/mapping/preview", async (ctx) => {
    if (ctx.state.json !== undefined) {
      const body = livePreviewBody.parse(ctx.state.json);
      const edited = readEditedMapping(body.mapping);
      const shown = await preview(ctx.state.portal.organizationId, body.user_id, edited);
      ctx.body = { valid: edited.problems.length === 0, problems: edited.problems, html: previewFragment(shown, edited.problems).value };
      return;
    }
    const text = ctx.state.form.mapping ?? "";
    const problems = readEditedMapping(text).problems;
    await page(ctx, { text, userId: ctx.state.form.preview_user ?? "", status: problems.length > 0 ? 400 : 200 });
  });

  router.post("/mapping", async (ctx) => {
    const session = ctx.state.portal;
    const text = ctx.state.form.mapping ?? "";
    const edited = readEditedMapping(text);
    if (!edited.document) {
      await page(ctx, { text, userId: ctx.state.form.preview_user ?? "", status: 400 });
      return;
    }
    await storeMapping(sequelize, { organizationId: session.organizationId, document: edited.document, actor: portalActor(session) }, deps.clock.now());
    deps.tenantCache.forgetOrganization(session.organizationId);
    const apply = ctx.state.form.apply === "true";
    if (apply) scheduleMappingApply({ sequelize, logger: deps.logger, metrics: deps.metrics, clock: deps.clock }, session.organizationId);
    seeOther(ctx, apply ? "/portal/mapping?notice=mapping_saved_applying&applying=1" : "/portal/mapping?notice=mapping_saved");
  });

  router.get("/mapping/progress", async (ctx) => {
    const organizationId = ctx.state.portal.organizationId;
    const current = await currentMapping(sequelize, organizationId);
    const progress = { version: current?.version ?? null, ...(await mappingProgress(sequelize, organizationId, current?.version ?? null)) };
    ctx.body = { done: progress.onVersion >= progress.total, html: progressFragment(progress).value };
  });

  router.get("/mapping/versions/:version", async (ctx) => {
    const version = Number(ctx.params.version);
    const versions = await mappingVersions(sequelize, ctx.state.portal.organizationId);
    const shown = versions.find((v) => v.version === version);
    if (!shown) throw new NotFoundError("Mapping version", ctx.params.version);
    const previous = versions.find((v) => v.version === version - 1);
    // Compiled documents are canonical, so a diff shows real changes, not spelling.
    const changes = diffMappings(previous ? compileMapping(previous.mapping).document : {}, compileMapping(shown.mapping).document);
    renderPage(ctx, "/portal/mapping", `Mapping version ${version}`, mappingDiffView({ version, changes }));
  });
}
