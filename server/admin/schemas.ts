import { z } from "zod";

const name = z.string().trim().min(1, "must not be empty").max(200, "must be at most 200 characters");

export const createOrganizationBody = z.strictObject({
  name,
  slug: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "must be lowercase letters, digits and dashes, starting with a letter or digit")
    .optional(),
});

export const updateOrganizationBody = z
  .strictObject({
    name: name.optional(),
    scim_rate_limit: z.number().int("must be a whole number").min(0, "must be 0 (off) or more").max(1_000_000).nullable().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, "send at least one of name, scim_rate_limit");

export const createConnectionBody = z.strictObject({
  name,
  provider: z.enum(["okta", "entra", "onelogin", "jumpcloud", "google", "generic"]),
});

export const createScimTokenBody = z.strictObject({
  name,
  enterprise_connection_id: z.string().min(1).optional(),
});

export const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  after: z.string().min(1).max(64).optional(),
});
