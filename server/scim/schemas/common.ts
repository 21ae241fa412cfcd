import { attribute, complex } from "./build.ts";
import type { AttributeDefinition } from "./types.ts";

/**
 * The common attributes of every resource (RFC 7643 §3.1). They belong to no schema, so they
 * are not part of the `/Schemas` documents, but filters, sorting and PATCH resolve them.
 */
export const commonAttributes: readonly AttributeDefinition[] = [
  attribute("id", "string", "A unique identifier for a SCIM resource as defined by the service provider.", {
    caseExact: true,
    mutability: "readOnly",
    returned: "always",
    uniqueness: "server",
  }),
  attribute("externalId", "string", "An identifier for the resource as defined by the provisioning client.", {
    caseExact: true,
  }),
  complex("meta", "A complex attribute containing resource metadata.", [
    attribute("resourceType", "string", "The name of the resource type of the resource.", {
      caseExact: true,
      mutability: "readOnly",
    }),
    attribute("created", "dateTime", "The DateTime that the resource was added to the service provider.", {
      mutability: "readOnly",
    }),
    attribute("lastModified", "dateTime", "The most recent DateTime that the details of this resource were updated.", {
      mutability: "readOnly",
    }),
    attribute("location", "reference", "The URI of the resource being returned.", {
      caseExact: true,
      mutability: "readOnly",
      referenceTypes: ["uri"],
    }),
    attribute("version", "string", "The version of the resource being returned (an ETag).", {
      caseExact: true,
      mutability: "readOnly",
    }),
  ], { mutability: "readOnly" }),
  // RFC 7643 §3: the schema URIs are compared case-insensitively and maintained by the server.
  attribute("schemas", "reference", "The schema URIs that define the attributes present in the resource.", {
    multiValued: true,
    required: true,
    mutability: "readOnly",
    referenceTypes: ["uri"],
  }),
];
