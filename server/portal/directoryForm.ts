import type { z } from "zod";
import { directoryBody, type DirectoryBody } from "../../reconciler/directory/settings.ts";
import type { DirectoryRow } from "../../reconciler/directory/directoryStore.ts";

/** The providers the portal's form sets up: every provider with a connector. */
export const FORM_PROVIDERS = { okta: "Okta", entra: "Microsoft Entra ID", google: "Google Workspace", onelogin: "OneLogin" } as const;
export type FormProvider = keyof typeof FORM_PROVIDERS;

/** Labels of the form's fields, so a validation message names what the admin sees. */
const COMMON_LABELS: Record<string, string> = {
  provider: "Provider",
  max_deactivation_ratio: "Deactivation limit",
  interval_minutes: "Pull every (minutes)",
};
const FIELD_LABELS: Record<FormProvider, Record<string, string>> = {
  okta: { base_url: "Okta base URL", app_id: "Okta app ID", "credentials.api_token": "Okta API token" },
  entra: {
    base_url: "Entra Graph base URL",
    tenant_id: "Entra tenant ID",
    service_principal_id: "Entra service principal ID",
    login_base_url: "Entra login base URL",
    external_id_attribute: "Entra attribute sent as externalId",
    "credentials.client_id": "Entra client ID",
    "credentials.client_secret": "Entra client secret",
  },
  google: {
    customer: "Google customer ID",
    domain: "Google domain",
    user_query: "Google user query (provisioning scope)",
    scope_groups: "Google groups in the provisioning scope",
    external_id_attribute: "Google attribute sent as externalId",
    base_url: "Google Directory API base URL",
    token_url: "Google token URL",
    "credentials.service_account_json": "Google service account key (JSON)",
    "credentials.subject": "Google admin to act as",
  },
  onelogin: {
    base_url: "OneLogin API base URL",
    app_id: "OneLogin app ID",
    user_name_attribute: "OneLogin SCIM Username holds",
    external_id_attribute: "OneLogin attribute sent as externalId",
    "credentials.client_id": "OneLogin client ID",
    "credentials.client_secret": "OneLogin client secret",
  },
};

const text = (value: string | undefined) => (value === undefined || value.trim() === "" ? undefined : value.trim());
const secret = (value: string | undefined) => (value === undefined || value === "" ? "" : value);
const list = (value: string | undefined) => {
  const items = (value ?? "").split(",").map((v) => v.trim()).filter((v) => v.length > 0);
  return items.length > 0 ? items : undefined;
};
const number = (value: string | undefined) => (text(value) === undefined ? undefined : Number(value));

/**
 * The admin API's PUT body from the portal form: the chosen provider's fields only (the form shows
 * every provider's fields; the others are ignored). Secrets are required on every save: a PUT
 * replaces the directory and the portal never has them to fill in. The schedule's full-pass
 * cadence, which the form does not show, is kept from the stored directory. Pure.
 */
export function formToDirectoryBody(form: Record<string, string>, current: DirectoryRow | undefined): Record<string, unknown> {
  const provider = form.provider ?? "";
  const percent = number(form.max_deactivation_percent);
  const common = {
    max_deactivation_ratio: percent === undefined ? undefined : percent / 100,
    interval_minutes: number(form.interval_minutes),
    full_every_hours: current?.full_every_hours,
  };
  if (provider === "okta") {
    return { provider, base_url: text(form.okta_base_url) ?? "", app_id: text(form.okta_app_id) ?? "", credentials: { api_token: secret(form.okta_api_token) }, ...common };
  }
  if (provider === "entra") {
    return {
      provider,
      tenant_id: text(form.entra_tenant_id) ?? "",
      service_principal_id: text(form.entra_service_principal_id) ?? "",
      base_url: text(form.entra_base_url),
      login_base_url: text(form.entra_login_base_url),
      external_id_attribute: text(form.entra_external_id_attribute),
      credentials: { client_id: text(form.entra_client_id) ?? "", client_secret: secret(form.entra_client_secret) },
      ...common,
    };
  }
  if (provider === "google") {
    return {
      provider,
      customer: text(form.google_customer),
      domain: text(form.google_domain),
      user_query: text(form.google_user_query),
      scope_groups: list(form.google_scope_groups),
      external_id_attribute: text(form.google_external_id_attribute),
      base_url: text(form.google_base_url),
      token_url: text(form.google_token_url),
      credentials: { service_account_json: secret(form.google_service_account_json).trim(), subject: text(form.google_subject) ?? "" },
      ...common,
    };
  }
  if (provider === "onelogin") {
    return {
      provider,
      base_url: text(form.onelogin_base_url) ?? "",
      app_id: text(form.onelogin_app_id) ?? "",
      user_name_attribute: text(form.onelogin_user_name_attribute),
      external_id_attribute: text(form.onelogin_external_id_attribute),
      credentials: { client_id: text(form.onelogin_client_id) ?? "", client_secret: secret(form.onelogin_client_secret) },
      ...common,
    };
  }
  return { provider, ...common };
}

/** Validates the form with the admin API's schema; problems are worded with the form's labels. */
export function parseDirectoryForm(form: Record<string, string>, current: DirectoryRow | undefined): { ok: true; body: DirectoryBody } | { ok: false; errors: string[] } {
  const provider = form.provider ?? "";
  if (!Object.hasOwn(FORM_PROVIDERS, provider)) return { ok: false, errors: ["Provider: choose Okta, Microsoft Entra ID, Google Workspace or OneLogin."] };
  const parsed = directoryBody.safeParse(formToDirectoryBody(form, current));
  if (parsed.success) return { ok: true, body: parsed.data };
  return { ok: false, errors: parsed.error.issues.map((issue) => describeIssue(issue, provider as FormProvider)) };
}

function describeIssue(issue: z.core.$ZodIssue, provider: FormProvider): string {
  const path = issue.path.map(String).join(".");
  const label = FIELD_LABELS[provider][path] ?? COMMON_LABELS[path] ?? path;
  const message = path === "max_deactivation_ratio" ? "must be between 0 and 100 percent" : issue.message;
  return `${label}: ${message}.`;
}
