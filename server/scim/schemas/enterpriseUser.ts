import { attribute, complex } from "./build.ts";
import type { SchemaDefinition } from "./types.ts";

export const ENTERPRISE_USER_SCHEMA_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/** The Enterprise User extension (RFC 7643 §4.3). */
export const enterpriseUserSchema: SchemaDefinition = {
  id: ENTERPRISE_USER_SCHEMA_URN,
  name: "EnterpriseUser",
  description: "Enterprise User",
  attributes: [
    attribute("employeeNumber", "string", "Numeric or alphanumeric identifier assigned to a person, typically based on order of hire or association with an organization."),
    attribute("costCenter", "string", "Identifies the name of a cost center."),
    attribute("organization", "string", "Identifies the name of an organization."),
    attribute("division", "string", "Identifies the name of a division."),
    attribute("department", "string", "Identifies the name of a department."),
    complex("manager", "The User's manager.", [
      attribute("value", "string", "The id of the SCIM resource representing the User's manager."),
      attribute("$ref", "reference", "The URI of the SCIM resource representing the User's manager.", {
        referenceTypes: ["User"],
        caseExact: true,
      }),
      attribute("displayName", "string", "The displayName of the User's manager.", { mutability: "readOnly" }),
    ]),
  ],
};
