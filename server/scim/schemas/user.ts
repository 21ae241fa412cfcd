import { attribute, complex, multiValuedSubAttributes } from "./build.ts";
import type { SchemaDefinition } from "./types.ts";

export const USER_SCHEMA_URN = "urn:ietf:params:scim:schemas:core:2.0:User";

/** The core User schema, every attribute of RFC 7643 §4.1. */
export const userSchema: SchemaDefinition = {
  id: USER_SCHEMA_URN,
  name: "User",
  description: "User Account",
  attributes: [
    attribute("userName", "string", "Unique identifier for the User, typically used by the user to directly authenticate to the service provider.", {
      required: true,
      uniqueness: "server",
    }),
    complex("name", "The components of the user's real name.", [
      attribute("formatted", "string", "The full name, including all middle names, titles, and suffixes as appropriate, formatted for display."),
      attribute("familyName", "string", "The family name of the User, or last name in most Western languages."),
      attribute("givenName", "string", "The given name of the User, or first name in most Western languages."),
      attribute("middleName", "string", "The middle name(s) of the User."),
      attribute("honorificPrefix", "string", "The honorific prefix(es) of the User, or title in most Western languages."),
      attribute("honorificSuffix", "string", "The honorific suffix(es) of the User, or suffix in most Western languages."),
    ]),
    attribute("displayName", "string", "The name of the User, suitable for display to end-users."),
    attribute("nickName", "string", "The casual way to address the user in real life."),
    attribute("profileUrl", "reference", "A fully qualified URL pointing to a page representing the User's online profile.", {
      referenceTypes: ["external"],
    }),
    attribute("title", "string", "The user's title, such as \"Vice President\"."),
    attribute("userType", "string", "Used to identify the relationship between the organization and the user."),
    attribute("preferredLanguage", "string", "Indicates the User's preferred written or spoken language."),
    attribute("locale", "string", "Used to indicate the User's default location for localizing items such as currency and date formats."),
    attribute("timezone", "string", "The User's time zone in the 'Olson' time zone database format, e.g. 'America/Los_Angeles'."),
    attribute("active", "boolean", "A Boolean value indicating the User's administrative status."),
    attribute("password", "string", "The User's cleartext password, used to set or compare it; never returned.", {
      mutability: "writeOnly",
      returned: "never",
    }),
    complex("emails", "Email addresses for the user.", multiValuedSubAttributes("Email address for the user.", {
      types: ["work", "home", "other"],
    }), { multiValued: true }),
    complex("phoneNumbers", "Phone numbers for the User.", multiValuedSubAttributes("Phone number of the User.", {
      types: ["work", "home", "mobile", "fax", "pager", "other"],
    }), { multiValued: true }),
    complex("ims", "Instant messaging addresses for the User.", multiValuedSubAttributes("Instant messaging address for the User.", {
      types: ["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"],
    }), { multiValued: true }),
    complex("photos", "URLs of photos of the User.", multiValuedSubAttributes("URL of a photo of the User.", {
      valueType: "reference",
      referenceTypes: ["external"],
      types: ["photo", "thumbnail"],
    }), { multiValued: true }),
    complex("addresses", "A physical mailing address for this User.", [
      attribute("formatted", "string", "The full mailing address, formatted for display or use with a mailing label."),
      attribute("streetAddress", "string", "The full street address component."),
      attribute("locality", "string", "The city or locality component."),
      attribute("region", "string", "The state or region component."),
      attribute("postalCode", "string", "The zip code or postal code component."),
      attribute("country", "string", "The country name component."),
      attribute("type", "string", "A label indicating the attribute's function.", { canonicalValues: ["work", "home", "other"] }),
      attribute("primary", "boolean", "Indicates the preferred mailing address or primary address."),
    ], { multiValued: true }),
    complex("groups", "A list of groups to which the user belongs, either through direct membership or through nested groups.", [
      attribute("value", "string", "The identifier of the User's group.", { mutability: "readOnly" }),
      attribute("$ref", "reference", "The URI of the corresponding 'Group' resource to which the user belongs.", {
        mutability: "readOnly",
        referenceTypes: ["User", "Group"],
        caseExact: true,
      }),
      attribute("display", "string", "A human-readable name, primarily used for display purposes.", { mutability: "readOnly" }),
      attribute("type", "string", "A label indicating the attribute's function.", {
        mutability: "readOnly",
        canonicalValues: ["direct", "indirect"],
      }),
    ], { multiValued: true, mutability: "readOnly" }),
    complex("entitlements", "A list of entitlements for the User that represent a thing the User has.",
      multiValuedSubAttributes("The value of an entitlement."), { multiValued: true }),
    complex("roles", "A list of roles for the User that collectively represent who the User is.",
      multiValuedSubAttributes("The value of a role."), { multiValued: true }),
    complex("x509Certificates", "A list of certificates issued to the User.",
      multiValuedSubAttributes("The value of an X.509 certificate.", { valueType: "binary" }), { multiValued: true }),
  ],
};
