import Router from "@koa/router";
import type { AppDeps } from "../deps.ts";
import { NotFoundError } from "../errors.ts";
import { membershipsOfUsers } from "../models/membershipQueries.ts";
import type { TeamRow, UserRow } from "../models/rows.ts";
import { select } from "../models/sql.ts";
import { presentAppTeam, presentAppUser } from "../presenters/appViews.ts";
import { listQuery } from "./schemas.ts";
import { presentList } from "./presenters.ts";
import { resolveOrgParam, type OrgState } from "./orgParam.ts";

type ScimEventRow = {
  id: string; token_id: string | null; request_id: string; method: string; path: string; status: number;
  duration_ms: number; outcome: string; error: string | null; created_at: Date;
};

/** The app-side read model (users, teams, members) and the SCIM request log, per organization. */
export function buildReadModelRouter(deps: AppDeps): Router<OrgState> {
  const router = new Router<OrgState>({ prefix: "/v1/organizations/:org" });
  resolveOrgParam(router, deps.models);
  const { sequelize } = deps.db;

  const usersWithTeams = async (rows: UserRow[]) => {
    const teams = await membershipsOfUsers(sequelize, rows.map((r) => r.id));
    return rows.map((r) => presentAppUser(r, teams.get(r.id) ?? [], { includePrivate: true }));
  };
  const teamsWithCounts = async (rows: TeamRow[]) => {
    const counts = await select<{ team_id: string; n: number }>(
      sequelize,
      `SELECT team_id, count(*)::int AS n FROM team_memberships WHERE team_id = ANY($1::text[]) GROUP BY team_id`,
      [rows.map((r) => r.id)],
    );
    const byTeam = new Map(counts.map((c) => [c.team_id, c.n]));
    return rows.map((r) => presentAppTeam(r, byTeam.get(r.id) ?? 0));
  };

  router.get("/users", async (ctx) => {
    const { limit, after } = listQuery.parse(ctx.query);
    const rows = await select<UserRow>(
      sequelize,
      `SELECT * FROM users WHERE organization_id = $1 AND deleted_at IS NULL AND id > $2 ORDER BY id LIMIT $3`,
      [ctx.state.organizationId, after ?? "", limit + 1],
    );
    ctx.body = presentList(await usersWithTeams(rows), limit);
  });

  router.get("/users/:id", async (ctx) => {
    const rows = await select<UserRow>(sequelize, `SELECT * FROM users WHERE organization_id = $1 AND id = $2`, [ctx.state.organizationId, ctx.params.id]);
    if (!rows[0]) throw new NotFoundError("User", ctx.params.id);
    ctx.body = (await usersWithTeams(rows))[0];
  });

  router.get("/teams", async (ctx) => {
    const { limit, after } = listQuery.parse(ctx.query);
    const rows = await select<TeamRow>(
      sequelize,
      `SELECT * FROM teams WHERE organization_id = $1 AND deleted_at IS NULL AND id > $2 ORDER BY id LIMIT $3`,
      [ctx.state.organizationId, after ?? "", limit + 1],
    );
    ctx.body = presentList(await teamsWithCounts(rows), limit);
  });

  router.get("/teams/:id", async (ctx) => {
    const rows = await select<TeamRow>(sequelize, `SELECT * FROM teams WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL`, [ctx.state.organizationId, ctx.params.id]);
    if (!rows[0]) throw new NotFoundError("Team", ctx.params.id);
    ctx.body = (await teamsWithCounts(rows))[0];
  });

  router.get("/teams/:id/members", async (ctx) => {
    const { limit, after } = listQuery.parse(ctx.query);
    const team = await select<{ id: string }>(sequelize, `SELECT id FROM teams WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL`, [ctx.state.organizationId, ctx.params.id]);
    if (!team[0]) throw new NotFoundError("Team", ctx.params.id);
    const rows = await select<UserRow & { membership_status: string; membership_source: string; confirmed_at: Date }>(
      sequelize,
      `SELECT u.*, m.status AS membership_status, m.source AS membership_source, m.confirmed_at
         FROM team_memberships m JOIN users u ON u.id = m.user_id
        WHERE m.organization_id = $1 AND m.team_id = $2 AND u.id > $3 ORDER BY u.id LIMIT $4`,
      [ctx.state.organizationId, ctx.params.id, after ?? "", limit + 1],
    );
    const users = await usersWithTeams(rows);
    ctx.body = presentList(
      users.map((u, i) => ({ ...u, membership: { status: rows[i]!.membership_status, source: rows[i]!.membership_source, confirmed_at: rows[i]!.confirmed_at.getTime() } })),
      limit,
    );
  });

  router.get("/scim/events", async (ctx) => {
    const { limit, after } = listQuery.parse(ctx.query);
    // Newest first; `after` continues below the last id of the previous page.
    const rows = await select<ScimEventRow>(
      sequelize,
      `SELECT * FROM scim_request_log WHERE organization_id = $1 AND ($2::text IS NULL OR id < $2) ORDER BY id DESC LIMIT $3`,
      [ctx.state.organizationId, after ?? null, limit + 1],
    );
    ctx.body = presentList(
      rows.map((r) => ({
        id: r.id, object: "scim_event" as const, request_id: r.request_id, method: r.method, path: r.path, status: r.status,
        token_id: r.token_id, duration_ms: r.duration_ms, outcome: r.outcome, error: r.error, created_at: r.created_at.getTime(),
      })),
      limit,
    );
  });

  return router;
}
