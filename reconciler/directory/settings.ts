import { z } from "zod";

/*
 * The body of PUT …/enterprise_connections/:id/directory (SPEC "Directory connections"), one shape
 * per provider. Every base URL is configurable (tests point them at local fakes). Secret
 * credentials are split from non-secret ones here, so the store seals exactly the secret part.
 */

const httpUrl = z.url({ protocol: /^https?$/, message: "must be an http(s) URL" }).transform((u) => u.replace(/\/+$/, ""));
const nonEmpty = z.string().trim().min(1, "must not be empty").max(4096);

/** Whether a string is a Google service account JSON key with what the JWT assertion needs. */
function isServiceAccountKey(value: string): boolean {
  try {
    const key = JSON.parse(value) as Record<string, unknown>;
    return key.type === "service_account" && typeof key.client_email === "string" && typeof key.private_key === "string" && key.private_key.includes("PRIVATE KEY");
  } catch {
    return false;
  }
}

const common = {
  max_deactivation_ratio: z.number().min(0).max(1).optional(),
  interval_minutes: z.number().int().min(5).max(10_080).optional(),
  full_every_hours: z.number().int().min(1).max(720).optional(),
};

const okta = z.strictObject({
  provider: z.literal("okta"),
  base_url: httpUrl,
  app_id: nonEmpty,
  credentials: z.union([
    z.strictObject({ api_token: nonEmpty }),
    z.strictObject({ client_id: nonEmpty, private_key: nonEmpty, key_id: z.string().trim().min(1).optional() }),
  ], { message: "give either {api_token} (SSWS) or {client_id, private_key[, key_id]} (OAuth 2.0 service app)" }),
  ...common,
});

const entra = z.strictObject({
  provider: z.literal("entra"),
  tenant_id: nonEmpty,
  service_principal_id: nonEmpty,
  base_url: httpUrl.default("https://graph.microsoft.com"),
  login_base_url: httpUrl.default("https://login.microsoftonline.com"),
  /** The Entra attribute the provisioning app sends as SCIM externalId (Entra's default mapping: mailNickname). */
  external_id_attribute: z.enum(["mailNickname", "id", "userPrincipalName", "mail", "employeeId"]).default("mailNickname"),
  credentials: z.strictObject({ client_id: nonEmpty, client_secret: nonEmpty }),
  ...common,
});

const google = z.strictObject({
  provider: z.literal("google"),
  customer: nonEmpty.default("my_customer"),
  /** List one domain's users and groups instead of the whole customer's (Directory API `domain`). */
  domain: z.string().trim().min(1).max(255).optional(),
  /** The auto-provisioning scope as a Directory API user query, e.g. `orgUnitPath='/Engineering'` (README). */
  user_query: z.string().trim().min(1).max(1024).optional(),
  /** The auto-provisioning scope as groups (emails or ids): only their members (nested included) are users of the app. */
  scope_groups: z.array(z.string().trim().min(1).max(255)).min(1).max(50).optional(),
  base_url: httpUrl.default("https://admin.googleapis.com"),
  token_url: httpUrl.default("https://oauth2.googleapis.com/token"),
  /** What the app's auto-provisioning mapping sends as SCIM externalId: the Google user id (default), primaryEmail, or nothing. */
  external_id_attribute: z.enum(["id", "primaryEmail", "none"]).default("id"),
  credentials: z.strictObject({
    service_account_json: nonEmpty.refine(isServiceAccountKey, "must be the service account's JSON key (type service_account, client_email, private_key)"),
    subject: z.email({ message: "must be the email of the admin the service account acts as (domain-wide delegation)" }),
  }),
  ...common,
});

const onelogin = z.strictObject({
  provider: z.literal("onelogin"),
  base_url: httpUrl,
  app_id: nonEmpty,
  /** What the app's SCIM Username parameter holds: the email (OneLogin's default) or the username. */
  user_name_attribute: z.enum(["email", "username"]).default("email"),
  /** What the SCIM JSON template sends as externalId: nothing (the default template), the OneLogin id, or the user's external_id. */
  external_id_attribute: z.enum(["none", "id", "external_id"]).default("none"),
  credentials: z.strictObject({ client_id: nonEmpty, client_secret: nonEmpty }),
  ...common,
});

/** The PUT body. */
export const directoryBody = z.discriminatedUnion("provider", [okta, entra, google, onelogin], {
  error: (issue) => (issue.code === "invalid_union" ? "provider must be one of okta, entra, google, onelogin" : undefined),
});

export type DirectoryBody = z.infer<typeof directoryBody>;
export type DirectoryProvider = DirectoryBody["provider"];

/** Non-secret settings as stored in directory_connections.settings (the body minus credentials and common fields). */
export type OktaSettings = { base_url: string; app_id: string };
export type EntraSettings = { tenant_id: string; service_principal_id: string; base_url: string; login_base_url: string; external_id_attribute: string };
export type GoogleSettings = { customer: string; domain?: string; user_query?: string; scope_groups?: string[]; base_url: string; token_url: string; external_id_attribute?: "id" | "primaryEmail" | "none" };
export type OneLoginSettings = { base_url: string; app_id: string; user_name_attribute?: "email" | "username"; external_id_attribute?: "none" | "id" | "external_id" };

/** Secret credentials per provider, as sealed in directory_connections.credentials. */
export type OktaCredentials = { api_token: string } | { client_id: string; private_key: string; key_id?: string };
export type EntraCredentials = { client_id: string; client_secret: string };
export type GoogleCredentials = { service_account_json: string; subject: string };
export type OneLoginCredentials = { client_id: string; client_secret: string };

/** A stored directory with its credentials opened: what a connector is built from. */
export type DirectoryConfig =
  | { provider: "okta"; settings: OktaSettings; credentials: OktaCredentials }
  | { provider: "entra"; settings: EntraSettings; credentials: EntraCredentials }
  | { provider: "google"; settings: GoogleSettings; credentials: GoogleCredentials }
  | { provider: "onelogin"; settings: OneLoginSettings; credentials: OneLoginCredentials };

/** Fields of the credentials that are not secret: shown by the admin API next to `configured: true`. */
export function publicCredentials(body: DirectoryBody): Record<string, string> {
  switch (body.provider) {
    case "okta":
      return "api_token" in body.credentials
        ? { auth: "api_token" }
        : { auth: "private_key_jwt", client_id: body.credentials.client_id, ...(body.credentials.key_id ? { key_id: body.credentials.key_id } : {}) };
    case "entra":
    case "onelogin":
      return { client_id: body.credentials.client_id };
    case "google": {
      let clientEmail: unknown;
      try {
        clientEmail = (JSON.parse(body.credentials.service_account_json) as { client_email?: unknown }).client_email;
      } catch {
        clientEmail = undefined;
      }
      return { subject: body.credentials.subject, ...(typeof clientEmail === "string" ? { client_email: clientEmail } : {}) };
    }
  }
}

/** Splits a validated body into what the store keeps in the clear and what it seals. */
export function splitBody(body: DirectoryBody): { settings: Record<string, unknown>; credentials: Record<string, string> } {
  const { provider: _p, credentials, max_deactivation_ratio: _r, interval_minutes: _i, full_every_hours: _f, ...settings } = body;
  return { settings, credentials: credentials as Record<string, string> };
}
