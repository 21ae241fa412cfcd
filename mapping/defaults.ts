import { looksLikeEmail } from "./coerce.ts";
import { compileEntry } from "./entry.ts";
import { compileSourcePath } from "./sourcePath.ts";
import type { CompiledEntry, MappedFields, MappingDocument } from "./types.ts";

/** The built-in mapping every organization starts from; its entries are overridden by source path. */
export const DEFAULT_MAPPING_DOCUMENT: MappingDocument = Object.freeze({
  userName: "email_address",
  "name.givenName": "first_name",
  "name.familyName": "last_name",
  "emails[primary eq true].value": "email_address",
  externalId: "external_id",
  active: "active",
});

export const DEFAULT_ORGANIZATION_ROLE = "org:member";

/** A default candidate with the canonical source path that an org entry must use to replace it. */
export type DefaultEntry = { entry: CompiledEntry; canonical: string };

/**
 * Precedence, per destination, first usable value wins:
 * 1. the org's own entry for that destination (at most one; validation rejects a second), then
 * 2. the defaults whose source path the org did not override, in this order. For email_address:
 *    `emails[primary eq true].value` if it is a valid email, else `userName` if it looks like an
 *    email, else the first valid address among `emails[*].value`, else null. Default candidates
 *    that are not emails are skipped silently: choosing among them is the rule itself, not a
 *    mistake to report.
 * A candidate that is absent, renders empty or fails moves on to the next one; failures are
 * reported in `errors`. When nothing is left: null, active true, organization_role org:member.
 */
const DEFAULT_ORDER = ["emails[primary eq true].value", "userName", "name.givenName", "name.familyName", "externalId", "active"];

/** Key under which the first-email fallback reports; it is a rule, not a document entry. */
export const FIRST_EMAIL_KEY = "emails[*].value";

function compileDefaults(): DefaultEntry[] {
  const compiled = DEFAULT_ORDER.map((key) => {
    const result = compileEntry(key, DEFAULT_MAPPING_DOCUMENT[key] ?? "", "default");
    if (!result.ok) throw new Error(`built-in mapping entry ${key} is invalid: ${result.messages.join("; ")}`);
    return { entry: result.entry, canonical: result.canonical };
  });
  const allEmails = compileSourcePath(FIRST_EMAIL_KEY);
  if (!allEmails.ok) throw new Error(`built-in path ${FIRST_EMAIL_KEY} is invalid: ${allEmails.message}`);
  const firstEmail: CompiledEntry = {
    key: FIRST_EMAIL_KEY,
    origin: "default",
    destination: { kind: "field", field: "email_address", name: "email_address" },
    read: (user) => {
      const values = allEmails.read(user);
      if (!Array.isArray(values)) return undefined;
      return values.find((v): v is string => typeof v === "string" && looksLikeEmail(v.trim()));
    },
    template: null,
  };
  // An empty canonical path can never equal a real one, so no org entry overrides this rule.
  return [...compiled, { entry: firstEmail, canonical: "" }];
}

/** Default candidates in precedence order (see the rule above). */
export const DEFAULT_ENTRIES: readonly DefaultEntry[] = compileDefaults();

/** The fields a user gets when no candidate yields a value. */
export function initialFields(): MappedFields {
  return {
    email_address: null,
    first_name: null,
    last_name: null,
    external_id: null,
    active: true,
    organization_role: DEFAULT_ORGANIZATION_ROLE,
    public_metadata: {},
    private_metadata: {},
  };
}
