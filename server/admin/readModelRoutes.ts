import Router from "@koa/router";
import type { AppDeps } from "../deps.ts";
import { NotFoundError } from "../errors.ts";
import { membershipsOfUsers } from "../models/membershipQueries.ts";
import { anyUser, liveTeam, pageOfScimEvents, pageOfTeamMembers, pageOfTeams, pageOfUsers } from "../models/readModelQueries.ts";
import { memberCountsOf } from "../models/teamQueries.ts";
import type { TeamRow, UserRow } from "../models/rows.ts";
import { presentAppTeam, presentAppUser } from "../presenters/appViews.ts";
import { listQuery } from "./schemas.ts";
import { presentList, presentScimEvent, presentTeamMember } from "./presenters.ts";
import { resolveOrgParam, type OrgState } from "./orgParam.ts";

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
    const counts = await memberCountsOf(sequelize, rows.map((r) => r.id));
    return rows.map((r) => presentAppTeam(r, counts.get(r.id) ?? 0));
  };

  router.get("/users", async (ctx) => {
    const page = listQuery.parse(ctx.query);
    ctx.body = presentList(await usersWithTeams(await pageOfUsers(sequelize, ctx.state.organizationId, page)), page.limit);
  });

  router.get("/users/:id", async (ctx) => {
    const row = await anyUser(sequelize, ctx.state.organizationId, ctx.params.id!);
    if (!row) throw new NotFoundError("User", ctx.params.id!);
    ctx.body = (await usersWithTeams([row]))[0];
  });

  router.get("/teams", async (ctx) => {
    const page = listQuery.parse(ctx.query);
    ctx.body = presentList(await teamsWithCounts(await pageOfTeams(sequelize, ctx.state.organizationId, page)), page.limit);
  });

  router.get("/teams/:id", async (ctx) => {
    const row = await liveTeam(sequelize, ctx.state.organizationId, ctx.params.id!);
    if (!row) throw new NotFoundError("Team", ctx.params.id!);
    ctx.body = (await teamsWithCounts([row]))[0];
  });

  router.get("/teams/:id/members", async (ctx) => {
    const page = listQuery.parse(ctx.query);
    if (!(await liveTeam(sequelize, ctx.state.organizationId, ctx.params.id!))) throw new NotFoundError("Team", ctx.params.id!);
    const rows = await pageOfTeamMembers(sequelize, ctx.state.organizationId, ctx.params.id!, page);
    const users = await usersWithTeams(rows);
    ctx.body = presentList(users.map((user, i) => presentTeamMember(user, rows[i]!)), page.limit);
  });

  router.get("/scim/events", async (ctx) => {
    const page = listQuery.parse(ctx.query);
    ctx.body = presentList((await pageOfScimEvents(sequelize, ctx.state.organizationId, page)).map(presentScimEvent), page.limit);
  });

  return router;
}
