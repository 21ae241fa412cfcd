import type { EventPayload, WebhookEventType } from "../eventPayload.ts";

/*
 * Rollcall events as SCIM security events: the claims of a Security Event Token (RFC 8417) carrying
 * the provisioning event URIs of RFC 9967 §2.4. Pure: no keys, no database, no HTTP.
 *
 * Mapping (RFC 9967 has no counterpart for reconciler.drift_detected and webhookEndpoint.disabled,
 * so those are never fanned out to a scim-events endpoint, see SCIM_EVENT_SOURCES):
 *   scimUser.provisioned (created)      → prov:create:{full|notice}
 *   scimUser.provisioned (reactivated)  → prov:activate
 *   scimUser.deprovisioned (deactivated)→ prov:deactivate
 *   scimUser.deprovisioned (deleted)    → prov:delete
 *   scimUser.updated                    → prov:put:{full|notice}   (the final representation)
 *   scimGroup.created                   → prov:create:{full|notice}
 *   scimGroup.updated                   → prov:patch:{full|notice} (a PatchOp of the change)
 *   scimGroup.deleted                   → prov:delete
 */

/** Whether a SET carries the resource ("full": RFC 9967 `data`) or only attribute names ("notice": `attributes`). */
export type ScimEventsMode = "full" | "notice";

/** The Rollcall event types a scim-events endpoint receives (the rest have no RFC 9967 event). */
export const SCIM_EVENT_SOURCES: readonly WebhookEventType[] = Object.freeze([
  "scimUser.provisioned",
  "scimUser.deprovisioned",
  "scimUser.updated",
  "scimGroup.created",
  "scimGroup.updated",
  "scimGroup.deleted",
]);

const PROV = "urn:ietf:params:scim:event:prov";
const USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/** RFC 9493 subject identifier in RFC 9967's "scim" format. */
export type ScimSubjectId = { format: "scim"; uri: string; id: string; externalId?: string };

/** The JWT claims set of one SET (RFC 8417 §2.2, RFC 9967 §2). */
export type SecurityEventClaims = {
  iss: string;
  iat: number;
  jti: string;
  aud: string;
  txn: string;
  toe: number;
  sub_id: ScimSubjectId;
  events: Record<string, Record<string, unknown>>;
};

/** What identifies one SET besides the event: who issues it, who it is for, and its ids. */
export type SecurityEventEnvelope = {
  /** The issuer: Rollcall's public URL (ROLLCALL_PUBLIC_URL). */
  issuer: string;
  /** The receiver: the endpoint's URL. */
  audience: string;
  /** Unique per SET: the delivery id (the same on every retry of that delivery, so a receiver can drop duplicates). */
  jti: string;
  /** The transaction: the event id (msg_…), shared by every endpoint's SET of the same change and equal to `webhook-id`. */
  txn: string;
  mode: ScimEventsMode;
};

type AppUser = {
  id: string;
  user_name: string;
  email_address: string | null;
  first_name: string | null;
  last_name: string | null;
  scim_external_id: string | null;
  active: boolean;
  created_at: number | null;
  updated_at: number | null;
};

type AppTeam = { id: string; name: string; external_id: string | null; created_at: number | null; updated_at: number | null };

const iso = (ms: number | null) => (ms === null ? undefined : new Date(ms).toISOString());
const present = <T extends Record<string, unknown>>(object: T) => Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined && v !== null));

/** A user as SCIM shows it (RFC 7643 §4.1), from the app-side user an event carries. */
function scimUser(user: AppUser): Record<string, unknown> {
  const name = present({ givenName: user.first_name, familyName: user.last_name });
  return present({
    schemas: [USER_SCHEMA],
    id: user.id,
    externalId: user.scim_external_id,
    userName: user.user_name,
    name: Object.keys(name).length > 0 ? name : undefined,
    emails: user.email_address ? [{ value: user.email_address, primary: true }] : undefined,
    active: user.active,
    meta: present({ resourceType: "User", created: iso(user.created_at), lastModified: iso(user.updated_at) }),
  });
}

const memberRef = (id: string) => ({ value: id, $ref: `/Users/${id}` });

/** A group as SCIM shows it (RFC 7643 §4.2); members are those the event names as added (all of them on create). */
function scimGroup(team: AppTeam, members: string[]): Record<string, unknown> {
  return present({
    schemas: [GROUP_SCHEMA],
    id: team.id,
    externalId: team.external_id,
    displayName: team.name,
    members: members.map(memberRef),
    meta: present({ resourceType: "Group", created: iso(team.created_at), lastModified: iso(team.updated_at) }),
  });
}

/** The attribute names a representation sets (RFC 9967 "attributes" of a notice). */
const attributeNames = (resource: Record<string, unknown>, without: string[] = []) =>
  Object.keys(resource).filter((name) => !["schemas", "meta", ...without].includes(name));

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : []);

/** A create/put/patch event in the endpoint's mode: `data` (full) or `attributes` (notice), exactly one (RFC 9967 §2.4). */
function withPayload(action: "create" | "put" | "patch", mode: ScimEventsMode, data: Record<string, unknown>, attributes: string[]) {
  return mode === "full" ? { [`${PROV}:${action}:full`]: { data } } : { [`${PROV}:${action}:notice`]: { attributes } };
}

/** The RFC 9967 events of one Rollcall event and its subject, or null when it has no SCIM counterpart. */
export function scimEventsOf(payload: EventPayload, mode: ScimEventsMode): { subject: ScimSubjectId; events: SecurityEventClaims["events"] } | null {
  const data = payload.data;
  if (payload.type.startsWith("scimUser.")) {
    const user = data.user as AppUser | undefined;
    if (!user) return null;
    const subject = present({ format: "scim", uri: `/Users/${user.id}`, id: user.id, externalId: user.scim_external_id }) as ScimSubjectId;
    const resource = scimUser(user);
    switch (payload.type) {
      case "scimUser.provisioned":
        return { subject, events: data.reactivated === true ? { [`${PROV}:activate`]: {} } : withPayload("create", mode, resource, attributeNames(resource)) };
      case "scimUser.deprovisioned":
        return { subject, events: data.deleted === true ? { [`${PROV}:delete`]: {} } : { [`${PROV}:deactivate`]: {} } };
      case "scimUser.updated":
        return { subject, events: withPayload("put", mode, resource, attributeNames(resource, ["id"])) };
      default:
        return null;
    }
  }
  if (payload.type.startsWith("scimGroup.")) {
    const team = data.group as AppTeam | undefined;
    if (!team) return null;
    const subject = present({ format: "scim", uri: `/Groups/${team.id}`, id: team.id, externalId: team.external_id }) as ScimSubjectId;
    const added = strings(data.members_added);
    const removed = strings(data.members_removed);
    switch (payload.type) {
      case "scimGroup.created": {
        const resource = scimGroup(team, added);
        return { subject, events: withPayload("create", mode, resource, attributeNames(resource)) };
      }
      case "scimGroup.updated": {
        // The event does not say whether the name changed, so the name is always restated; members
        // appear when some joined or left.
        const operations: Array<Record<string, unknown>> = [{ op: "replace", value: present({ displayName: team.name, externalId: team.external_id }) }];
        if (added.length > 0) operations.push({ op: "add", path: "members", value: added.map(memberRef) });
        for (const id of removed) operations.push({ op: "remove", path: `members[value eq ${JSON.stringify(id)}]` });
        const attributes = ["displayName", ...(team.external_id ? ["externalId"] : []), ...(added.length + removed.length > 0 ? ["members"] : [])];
        return { subject, events: withPayload("patch", mode, { schemas: [PATCH_SCHEMA], Operations: operations }, attributes) };
      }
      case "scimGroup.deleted":
        return { subject, events: { [`${PROV}:delete`]: {} } };
      default:
        return null;
    }
  }
  return null;
}

const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

/**
 * The claims of the SET for one delivery, or null when the event has no SCIM counterpart. `iat`
 * and `toe` are the event's time, so every retry of a delivery carries the same claims (only the
 * signature, ES256 being randomized, differs).
 */
export function securityEventClaims(payload: EventPayload, envelope: SecurityEventEnvelope): SecurityEventClaims | null {
  const scim = scimEventsOf(payload, envelope.mode);
  if (!scim) return null;
  const at = seconds(new Date(payload.timestamp));
  return { iss: envelope.issuer, iat: at, jti: envelope.jti, aud: envelope.audience, txn: envelope.txn, toe: at, sub_id: scim.subject, events: scim.events };
}
