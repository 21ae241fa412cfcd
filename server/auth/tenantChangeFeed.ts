import type { Logger } from "../logger.ts";
import { listenForNotifications, type NotificationListener } from "../db/notificationListener.ts";
import type { TenantCache } from "./tenantCache.ts";

/** The channel the tenant-change trigger (migrations/20261123000000-tenant-change-notify.ts) announces on. */
export const TENANT_CHANGED_CHANNEL = "rollcall_tenant_changed";

/**
 * Keeps a TenantCache honest across processes: it is used only while the LISTEN is up, and an
 * organization's entries are dropped as soon as any process commits a change to its tokens, rate
 * limit or mapping.
 */
export function followTenantChanges(databaseUrl: string, cache: TenantCache, logger: Logger): NotificationListener {
  return listenForNotifications(
    databaseUrl,
    TENANT_CHANGED_CHANNEL,
    {
      onListening: () => cache.enable(),
      onMessage: (organizationId) => cache.forgetOrganization(organizationId),
      onLost: () => cache.disable(),
    },
    logger,
  );
}
