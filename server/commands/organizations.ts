import { Op } from "sequelize";
import type { Models, OrganizationRow } from "../models/index.ts";
import { newId } from "../ids.ts";
import { ConflictError, NotFoundError } from "../errors.ts";

/** Derives a URL-safe slug from a name ("Acme Corp!" → "acme-corp"). */
export function slugify(name: string): string {
  const slug = name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 50)
    .replace(/-+$/, "");
  return slug || "org";
}

/** Creates an organization; a derived slug gets a short suffix if taken, an explicit one is 409. */
export async function createOrganization(models: Models, props: { name: string; slug?: string | undefined }): Promise<OrganizationRow> {
  const id = newId("org");
  let slug = props.slug ?? slugify(props.name);
  const taken = await models.Organization.findOne({ where: { slug } });
  if (taken) {
    if (props.slug) throw new ConflictError(`slug "${slug}" is already taken.`, { field: "slug" });
    slug = `${slug}-${id.slice(-6).toLowerCase()}`;
  }
  const row = await models.Organization.create({ id, name: props.name, slug });
  return row.get({ plain: true });
}

/** Finds an organization by id or slug, or throws 404. */
export async function findOrganization(models: Models, idOrSlug: string): Promise<OrganizationRow> {
  const row = await models.Organization.findOne({ where: { [Op.or]: [{ id: idOrSlug }, { slug: idOrSlug }] } });
  if (!row) throw new NotFoundError("Organization", idOrSlug);
  return row.get({ plain: true });
}

/** Updates an organization's name or SCIM rate limit override (null restores the default). */
export async function updateOrganization(
  models: Models,
  id: string,
  changes: { name?: string | undefined; scim_rate_limit?: number | null | undefined },
  now: Date,
): Promise<OrganizationRow> {
  const row = await models.Organization.findByPk(id);
  if (!row) throw new NotFoundError("Organization", id);
  const patch: Partial<OrganizationRow> = { updated_at: now };
  if (changes.name !== undefined) patch.name = changes.name;
  if (changes.scim_rate_limit !== undefined) patch.scim_rate_limit = changes.scim_rate_limit;
  await row.update(patch);
  return row.get({ plain: true });
}
