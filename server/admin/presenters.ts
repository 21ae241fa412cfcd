import type { EnterpriseConnectionRow, OrganizationRow, ScimTokenRow } from "../models/index.ts";
import type { ScimEventRow } from "../models/readModelQueries.ts";

/** Milliseconds since the epoch, or null; the admin API's timestamp format. */
export const ms = (date: Date | null | undefined): number | null => (date ? date.getTime() : null);

/** Organization as the admin API shows it. */
export function presentOrganization(row: OrganizationRow) {
  return {
    id: row.id,
    object: "organization" as const,
    name: row.name,
    slug: row.slug,
    scim_rate_limit: row.scim_rate_limit,
    created_at: ms(row.created_at),
    updated_at: ms(row.updated_at),
  };
}

/** Enterprise connection as the admin API shows it. */
export function presentConnection(row: EnterpriseConnectionRow) {
  return {
    id: row.id,
    object: "enterprise_connection" as const,
    organization_id: row.organization_id,
    name: row.name,
    provider: row.provider,
    is_default: row.is_default,
    created_at: ms(row.created_at),
  };
}

/** SCIM token without its secret; the plaintext is added only by the create handler. */
export function presentScimToken(row: ScimTokenRow) {
  return {
    id: row.id,
    object: "scim_token" as const,
    organization_id: row.organization_id,
    enterprise_connection_id: row.enterprise_connection_id,
    name: row.name,
    prefix: row.prefix,
    created_at: ms(row.created_at),
    last_used_at: ms(row.last_used_at),
    revoked_at: ms(row.revoked_at),
  };
}

/** A page of an admin list. */
export function presentList<T extends { id: string }>(items: T[], limit: number) {
  const page = items.slice(0, limit);
  return { object: "list" as const, data: page, has_more: items.length > limit, next_cursor: items.length > limit ? page.at(-1)?.id ?? null : null };
}

/** A team member: the app-side user plus its membership in the team. */
export function presentTeamMember<U extends object>(user: U, row: { membership_status: string; membership_source: string; confirmed_at: Date }) {
  return { ...user, membership: { status: row.membership_status, source: row.membership_source, confirmed_at: row.confirmed_at.getTime() } };
}

/** One SCIM request of the organization's request log. */
export function presentScimEvent(r: ScimEventRow) {
  return {
    id: r.id, object: "scim_event" as const, request_id: r.request_id, method: r.method, path: r.path, status: r.status,
    token_id: r.token_id, duration_ms: r.duration_ms, outcome: r.outcome, error: r.error, created_at: r.created_at.getTime(),
  };
}
