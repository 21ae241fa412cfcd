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
import { documented } from "./apiDocs.ts";
import { appTeam, appUser, listOf, scimEvent, teamMember } from "./responseSchemas.ts";

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

  documented(router, {
    method: "get",
    path: "/v1/organizations/:org/users",
    tag: "Users and teams",
    summary: "List the organization's users (the app's view)",
    query: listQuery,
    responses: { 200: { description: "A page of users.", schema: listOf(appUser) } },
  });
  router.get("/users", async (ctx) => {
    const page = listQuery.parse(ctx.query);
    ctx.body = presentList(await usersWithTeams(await pageOfUsers(sequelize, ctx.state.organizationId, page)), page.limit);
  });

  documented(router, {
    method: "get",
    path: "/v1/organizations/:org/users/:id",
    tag: "Users and teams",
    summary: "Get a user (deleted ones too)",
    params: { id: "The user id (`user_…`)." },
    responses: { 200: { description: "The user.", schema: appUser } },
  });
  router.get("/users/:id", async (ctx) => {
    const row = await anyUser(sequelize, ctx.state.organizationId, ctx.params.id!);
    if (!row) throw new NotFoundError("User", ctx.params.id!);
    ctx.body = (await usersWithTeams([row]))[0];
  });

  documented(router, {
    method: "get",
    path: "/v1/organizations/:org/teams",
    tag: "Users and teams",
    summary: "List the organization's teams",
    query: listQuery,
    responses: { 200: { description: "A page of teams.", schema: listOf(appTeam) } },
  });
  router.get("/teams", async (ctx) => {
    const page = listQuery.parse(ctx.query);
    ctx.body = presentList(await teamsWithCounts(await pageOfTeams(sequelize, ctx.state.organizationId, page)), page.limit);
  });

  documented(router, {
    method: "get",
    path: "/v1/organizations/:org/teams/:id",
    tag: "Users and teams",
    summary: "Get a team",
    params: { id: "The team id (`team_…`)." },
    responses: { 200: { description: "The team.", schema: appTeam } },
  });
  router.get("/teams/:id", async (ctx) => {
    const row = await liveTeam(sequelize, ctx.state.organizationId, ctx.params.id!);
    if (!row) throw new NotFoundError("Team", ctx.params.id!);
    ctx.body = (await teamsWithCounts([row]))[0];
  });

  documented(router, {
    method: "get",
    path: "/v1/organizations/:org/teams/:id/members",
    tag: "Users and teams",
    summary: "List a team's members",
    params: { id: "The team id (`team_…`)." },
    query: listQuery,
    responses: { 200: { description: "A page of members.", schema: listOf(teamMember) } },
  });
  router.get("/teams/:id/members", async (ctx) => {
    const page = listQuery.parse(ctx.query);
    if (!(await liveTeam(sequelize, ctx.state.organizationId, ctx.params.id!))) throw new NotFoundError("Team", ctx.params.id!);
    const rows = await pageOfTeamMembers(sequelize, ctx.state.organizationId, ctx.params.id!, page);
    const users = await usersWithTeams(rows);
    ctx.body = presentList(users.map((user, i) => presentTeamMember(user, rows[i]!)), page.limit);
  });

  documented(router, {
    method: "get",
    path: "/v1/organizations/:org/scim/events",
    tag: "SCIM tokens",
    summary: "The organization's SCIM request log, newest first",
    query: listQuery,
    responses: { 200: { description: "A page of logged SCIM requests.", schema: listOf(scimEvent) } },
  });
  router.get("/scim/events", async (ctx) => {
    const page = listQuery.parse(ctx.query);
    ctx.body = presentList((await pageOfScimEvents(sequelize, ctx.state.organizationId, page)).map(presentScimEvent), page.limit);
  });

  return router;
}
