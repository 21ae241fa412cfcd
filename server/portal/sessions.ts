import type { Sequelize } from "sequelize";
import { auditedOnly } from "../changes/payloads.ts";
import { recordChange } from "../changes/recorder.ts";
import { exchangePortalCode, insertPortalLink, type PortalSessionRow } from "../models/portalSessionStore.ts";
import { generateLinkCode, generateSessionSecret, sha256 } from "./secrets.ts";

/** How long a link may wait to be opened when the caller does not say (seconds). */
export const DEFAULT_LINK_TTL_S = 300;
/** The longest a link may wait to be opened (seconds). */
export const MAX_LINK_TTL_S = 86_400;
/** How long a portal session lasts once the link is opened, absolute (the admin opens a new link after). */
export const SESSION_TTL_MS = 4 * 3_600_000;

/** A new one-time portal link for an organization; the code appears only in the returned URL. */
export async function createPortalLink(
  sequelize: Sequelize,
  props: { organizationId: string; publicUrl: string; expiresInS: number },
  now: Date,
): Promise<{ row: PortalSessionRow; url: string }> {
  const code = generateLinkCode();
  const row = await insertPortalLink(sequelize, {
    organizationId: props.organizationId,
    codeHash: sha256(code),
    linkExpiresAt: new Date(now.getTime() + props.expiresInS * 1000),
  }, now);
  return { row, url: `${props.publicUrl}/portal/start?code=${encodeURIComponent(code)}` };
}

/**
 * Exchanges a link code for a session: single use, before the link expires. Returns the cookie
 * secret (shown to the browser only) or undefined for an unknown, used, expired or altered code.
 */
export async function startPortalSession(
  sequelize: Sequelize,
  code: string,
  now: Date,
): Promise<{ session: PortalSessionRow; secret: string } | undefined> {
  if (!/^pc_[A-Za-z0-9_-]{43}$/.test(code)) return undefined;
  const secret = generateSessionSecret();
  const session = await exchangePortalCode(sequelize, {
    codeHash: sha256(code),
    sessionHash: sha256(secret),
    sessionExpiresAt: new Date(now.getTime() + SESSION_TTL_MS),
  }, now);
  if (!session) return undefined;
  const by = { organizationId: session.organization_id, actor: { type: "portal_session" as const, id: session.id } };
  await sequelize.transaction((transaction) =>
    recordChange({ sequelize, transaction }, auditedOnly(by, { action: "portal_session.started", subjectType: "portal_session", subjectId: session.id }), now),
  );
  return { session, secret };
}
