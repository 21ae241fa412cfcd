import type { DirectoryProvider } from "../settings.ts";

/** One user the IdP assigns to the app, normalized across providers. */
export type DirectoryUser = {
  /** The IdP's own id (Okta user id, Entra object id, Google id, OneLogin id). */
  idpId: string;
  /** What the IdP sends as SCIM externalId by default (README "Matching"). */
  externalId: string | null;
  /** What the IdP sends as SCIM userName by default. */
  userName: string | null;
  email: string | null;
  givenName: string | null;
  familyName: string | null;
  /** Whether the IdP would have the user active in the app (not suspended, deactivated or disabled). */
  active: boolean;
  /** The IdP's own status word, for findings (ACTIVE, SUSPENDED, DEPROVISIONED, accountEnabled=false, …). */
  status: string;
  /** How the user is assigned to the app. */
  assignment: "direct" | "group" | "unknown";
};

/** One group the IdP pushes to the app (a team here). */
export type DirectoryGroup = {
  idpId: string;
  /** What the IdP sends as the SCIM group's externalId by default (null when it sends none). */
  externalId: string | null;
  name: string;
};

/**
 * An incremental change: a user as it is now, or gone from the app (unassigned or deleted; with
 * the user's profile when the IdP still has it, so a user whose externalId is not the IdP id can
 * be matched), or one member added to or removed from a group assigned to the app.
 */
export type DirectoryChange =
  | { user: DirectoryUser; assigned: true }
  | { idpId: string; assigned: false; user?: DirectoryUser }
  | { membership: MembershipChange };

/** A group member the change feed says was added (`member: true`) or removed. */
export type MembershipChange = { group: DirectoryGroup; userIdpId: string; member: boolean };

/**
 * A read-only view of one IdP's directory, streamed a page at a time so memory stays flat however
 * large the IdP is. Connectors are plain HTTP clients of the vendor APIs, pointed at a base URL.
 */
export interface DirectoryConnector {
  readonly provider: DirectoryProvider;
  /** Every user assigned to the app (directly or through a group), each once. */
  users(): AsyncGenerator<DirectoryUser[]>;
  /** Every group assigned to the app. */
  groups(): AsyncGenerator<DirectoryGroup[]>;
  /** The IdP ids of one group's members. */
  members(groupIdpId: string): AsyncGenerator<string[]>;
  /** Changes since the cursor of the previous run, when the IdP offers a change feed; null cursor = start one. */
  changes?(cursor: string | null): { pages: AsyncGenerator<DirectoryChange[]>; cursor(): string | null };
}

/** The IdP refused the credentials (401/403, or the token endpoint said no): a clear error, nothing changed. */
export class DirectoryAuthError extends Error {
  constructor(readonly provider: DirectoryProvider, readonly status: number, detail: string) {
    super(`${provider} refused the directory credentials (HTTP ${status}): ${detail}`);
    this.name = "DirectoryAuthError";
  }
}

/**
 * The change feed's cursor is no longer usable (Graph: 410 Gone, syncStateNotFound, an expired
 * delta token): the pass falls back to a full pull, which starts a new feed.
 */
export class DirectoryResyncRequired extends Error {
  constructor(readonly provider: DirectoryProvider, detail: string) {
    super(`${provider} asked for a full resynchronization: ${detail}`);
    this.name = "DirectoryResyncRequired";
  }
}

/** The IdP answered an error that retrying did not fix. */
export class DirectoryRequestError extends Error {
  constructor(readonly provider: DirectoryProvider, readonly status: number, detail: string) {
    super(`${provider} API request failed (HTTP ${status}): ${detail}`);
    this.name = "DirectoryRequestError";
  }
}
