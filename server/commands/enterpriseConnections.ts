import type { Transaction } from "sequelize";
import type { EnterpriseConnectionRow, Models } from "../models/index.ts";
import { newId } from "../ids.ts";
import { NotFoundError } from "../errors.ts";

export type Provider = EnterpriseConnectionRow["provider"];

/** Creates an enterprise connection for an organization. */
export async function createConnection(
  models: Models,
  props: { organizationId: string; name: string; provider: Provider; isDefault?: boolean },
  transaction?: Transaction,
): Promise<EnterpriseConnectionRow> {
  const row = await models.EnterpriseConnection.create(
    {
      id: newId("conn"),
      organization_id: props.organizationId,
      name: props.name,
      provider: props.provider,
      is_default: props.isDefault ?? false,
    },
    { transaction },
  );
  return row.get({ plain: true });
}

/**
 * The connection a token is issued for: the named one (which must belong to the organization),
 * or the organization's default connection, created on first need.
 */
export async function ensureConnection(
  models: Models,
  organizationId: string,
  connectionId: string | undefined,
  transaction: Transaction,
): Promise<EnterpriseConnectionRow> {
  if (connectionId) {
    const named = await models.EnterpriseConnection.findOne({
      where: { id: connectionId, organization_id: organizationId },
      transaction,
    });
    if (!named) throw new NotFoundError("Enterprise connection", connectionId);
    return named.get({ plain: true });
  }
  const existing = await models.EnterpriseConnection.findOne({
    where: { organization_id: organizationId, is_default: true },
    transaction,
  });
  if (existing) return existing.get({ plain: true });
  // Serialise concurrent first-token requests of one org on its row instead of racing the unique index.
  await models.Organization.findOne({ where: { id: organizationId }, lock: transaction.LOCK.UPDATE, transaction });
  const raced = await models.EnterpriseConnection.findOne({
    where: { organization_id: organizationId, is_default: true },
    transaction,
  });
  if (raced) return raced.get({ plain: true });
  return createConnection(models, { organizationId, name: "Default", provider: "generic", isDefault: true }, transaction);
}
