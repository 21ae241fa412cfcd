import { DataTypes, Model, type ModelStatic, type Sequelize } from "sequelize";

/** Row types mirror migrations/ exactly; timestamps are Dates here and ms numbers in API bodies. */
export type OrganizationRow = {
  id: string;
  name: string;
  slug: string;
  scim_rate_limit: number | null;
  settings: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
};

export type EnterpriseConnectionRow = {
  id: string;
  organization_id: string;
  name: string;
  provider: "okta" | "entra" | "onelogin" | "jumpcloud" | "google" | "generic";
  is_default: boolean;
  created_at: Date;
  updated_at: Date;
};

export type ScimTokenRow = {
  id: string;
  organization_id: string;
  enterprise_connection_id: string;
  name: string;
  prefix: string;
  token_hash: Buffer;
  last_used_at: Date | null;
  revoked_at: Date | null;
  created_at: Date;
};

type WithDefaults<T, K extends keyof T> = Omit<T, K> & Partial<Pick<T, K>>;

export interface OrganizationModel extends Model<OrganizationRow, WithDefaults<OrganizationRow, "created_at" | "updated_at" | "settings" | "scim_rate_limit">>, OrganizationRow {}
export interface EnterpriseConnectionModel extends Model<EnterpriseConnectionRow, WithDefaults<EnterpriseConnectionRow, "created_at" | "updated_at" | "is_default">>, EnterpriseConnectionRow {}
export interface ScimTokenModel extends Model<ScimTokenRow, WithDefaults<ScimTokenRow, "created_at" | "last_used_at" | "revoked_at">>, ScimTokenRow {}

export type Models = {
  Organization: ModelStatic<OrganizationModel>;
  EnterpriseConnection: ModelStatic<EnterpriseConnectionModel>;
  ScimToken: ModelStatic<ScimTokenModel>;
};

const timestamps = {
  created_at: { type: DataTypes.DATE, allowNull: false, defaultValue: DataTypes.NOW },
};

/** Defines the models on one Sequelize instance (no global model registry, so tests can hold several). */
export function defineModels(sequelize: Sequelize): Models {
  const Organization = sequelize.define<OrganizationModel>(
    "Organization",
    {
      id: { type: DataTypes.TEXT, primaryKey: true },
      name: { type: DataTypes.TEXT, allowNull: false },
      slug: { type: DataTypes.TEXT, allowNull: false },
      scim_rate_limit: { type: DataTypes.INTEGER, allowNull: true },
      settings: { type: DataTypes.JSONB, allowNull: false, defaultValue: {} },
      ...timestamps,
      updated_at: { type: DataTypes.DATE, allowNull: false, defaultValue: DataTypes.NOW },
    },
    { tableName: "organizations" },
  );
  const EnterpriseConnection = sequelize.define<EnterpriseConnectionModel>(
    "EnterpriseConnection",
    {
      id: { type: DataTypes.TEXT, primaryKey: true },
      organization_id: { type: DataTypes.TEXT, allowNull: false },
      name: { type: DataTypes.TEXT, allowNull: false },
      provider: { type: DataTypes.TEXT, allowNull: false },
      is_default: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
      ...timestamps,
      updated_at: { type: DataTypes.DATE, allowNull: false, defaultValue: DataTypes.NOW },
    },
    { tableName: "enterprise_connections" },
  );
  const ScimToken = sequelize.define<ScimTokenModel>(
    "ScimToken",
    {
      id: { type: DataTypes.TEXT, primaryKey: true },
      organization_id: { type: DataTypes.TEXT, allowNull: false },
      enterprise_connection_id: { type: DataTypes.TEXT, allowNull: false },
      name: { type: DataTypes.TEXT, allowNull: false },
      prefix: { type: DataTypes.TEXT, allowNull: false },
      token_hash: { type: DataTypes.BLOB, allowNull: false },
      last_used_at: { type: DataTypes.DATE, allowNull: true },
      revoked_at: { type: DataTypes.DATE, allowNull: true },
      ...timestamps,
    },
    { tableName: "scim_tokens" },
  );
  return { Organization, EnterpriseConnection, ScimToken };
}
