import type { Sequelize, Transaction } from "sequelize";
import type { MappingRequestBudget } from "../../mapping/index.ts";
import type { Actor } from "../changes/change.ts";
import type { ScimLimits } from "../scim/limits.ts";
import type { Metrics } from "../metrics.ts";
import type { CurrentMapping } from "./userColumns.ts";

/**
 * Everything a write of users, teams or memberships needs, whoever makes it: the SCIM commands
 * build one per request from the authenticated tenant (server/commands/users/userCommands.ts
 * contextFor), the reconciler one per repair (reconciler/repairs.ts). It belongs to the domain,
 * not to HTTP: no token, no rate limit. One per transaction, never shared.
 */
export type WriteContext = {
  sequelize: Sequelize;
  transaction: Transaction;
  metrics: Metrics;
  organizationId: string;
  /** The enterprise connection new users and teams belong to. */
  connectionId: string;
  actor: Actor;
  now: Date;
  mapping: CurrentMapping;
  /** Set when a reconcile run makes the change; its events say so. */
  reconcileRunId?: string | undefined;
  /** Shared by every mapping evaluation of the request (mapping/evaluate.ts MappingRequestBudget). */
  mappingBudget?: MappingRequestBudget | undefined;
};

/** What every user and group command needs from the process: passed in, never imported. */
export type CommandDeps = {
  sequelize: Sequelize;
  metrics: Metrics;
  now: () => Date;
  /** Request limits (config); the defaults when absent. */
  limits?: ScimLimits;
  /** Wall-clock budget of all mapping evaluations of one request (config). */
  mappingBudgetMs?: number;
};

/**
 * Whom a user or group command writes for: the organization, the connection new rows belong to and
 * the mapping version the caller last saw. A SCIM request's authenticated tenant is one; a
 * reconciler or directory repair builds its own, with no token or rate limit to invent.
 */
export type WriteScope = { organizationId: string; enterpriseConnectionId: string; mappingVersion: number | null };
