import type Router from "@koa/router";
import type { AppDeps } from "../../deps.ts";
import { membershipsOfUsers } from "../../models/membershipQueries.ts";
import { searchTeams, searchUsers } from "../../models/portalReadModel.ts";
import { presentAppTeam, presentAppUser } from "../../presenters/appViews.ts";
import type { PortalState } from "../context.ts";
import { queryString, renderPage } from "../render.ts";
import { teamsView, usersView } from "../views/peopleView.ts";

const PAGE = 200;

/** Users and teams of the organization, with search. */
export function peopleRoutes(router: Router<PortalState>, deps: AppDeps): void {
  const { sequelize } = deps.db;

  router.get("/users", async (ctx) => {
    const query = queryString(ctx, "q").slice(0, 200);
    const rows = await searchUsers(sequelize, ctx.state.portal.organizationId, query, PAGE);
    const teams = await membershipsOfUsers(sequelize, rows.map((r) => r.id));
    const users = rows.map((r) => presentAppUser(r, teams.get(r.id) ?? []));
    renderPage(ctx, "/portal/users", "Users", usersView({ users, query }));
  });

  router.get("/teams", async (ctx) => {
    const query = queryString(ctx, "q").slice(0, 200);
    const rows = await searchTeams(sequelize, ctx.state.portal.organizationId, query, PAGE);
    renderPage(ctx, "/portal/teams", "Teams", teamsView({ teams: rows.map((r) => presentAppTeam(r, r.member_count)), query }));
  });
}
