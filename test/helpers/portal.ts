import { admin } from "./http.ts";

/** A started portal session as a plain HTTP client sees it. */
export type PortalClient = { baseUrl: string; cookie: string; csrf: string; setCookie: string };

/** Asks the admin API for a portal link and returns the code's path on the given base URL. */
export async function portalLink(baseUrl: string, orgId: string, body: Record<string, unknown> = {}): Promise<{ url: string; path: string; expiresAt: number }> {
  const created = await admin(baseUrl, "POST", `/v1/organizations/${orgId}/portal_sessions`, body);
  if (created.status !== 201) throw new Error(`portal session create failed: ${created.status} ${created.text}`);
  const url = new URL(created.body.url as string);
  return { url: created.body.url, path: `${url.pathname}${url.search}`, expiresAt: created.body.expires_at };
}

/** Opens a portal link (no redirects followed) and returns the raw response. */
export function openLink(baseUrl: string, path: string): Promise<Response> {
  return fetch(`${baseUrl}${path}`, { redirect: "manual" });
}

/** Starts a session for the organization and reads its CSRF token from a page. */
export async function startPortal(baseUrl: string, orgId: string): Promise<PortalClient> {
  const { path } = await portalLink(baseUrl, orgId);
  const opened = await openLink(baseUrl, path);
  const setCookie = opened.headers.get("set-cookie") ?? "";
  const cookie = setCookie.split(";")[0]!;
  const page = await fetch(`${baseUrl}/portal/setup`, { headers: { Cookie: cookie } });
  const csrf = /<meta name="csrf-token" content="([^"]+)">/.exec(await page.text())?.[1];
  if (!csrf) throw new Error(`no CSRF token on the setup page (status ${page.status})`);
  return { baseUrl, cookie, csrf, setCookie };
}

/** GET a portal path with the session cookie. */
export async function portalGet(client: PortalClient, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; text: string }> {
  const response = await fetch(`${client.baseUrl}${path}`, { headers: { Cookie: client.cookie, ...headers }, redirect: "manual" });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** POST a portal form (urlencoded) with the session cookie; the CSRF field is added unless given. */
export async function portalPost(
  client: PortalClient,
  path: string,
  form: Record<string, string> = {},
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; text: string }> {
  const body = new URLSearchParams({ _csrf: client.csrf, ...form }).toString();
  const response = await fetch(`${client.baseUrl}${path}`, {
    method: "POST",
    headers: { Cookie: client.cookie, "Content-Type": "application/x-www-form-urlencoded", Origin: client.baseUrl, ...headers },
    body,
    redirect: "manual",
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}
