import type { Sequelize } from "sequelize";
import { AppError } from "../errors.ts";
import { findDelivery, markDeliveryDue, type DeliveryView } from "./deliveryQueries.ts";

export { findDelivery, listDeliveries, type AttemptView, type DeliveryFilter, type DeliveryStatus, type DeliveryView } from "./deliveryQueries.ts";

/**
 * Makes a delivery due now, whatever its status: a pending one skips its backoff wait, a failed one
 * gets one more attempt (and goes back to failed if that fails after its schedule is used up), and
 * a succeeded one is sent again with the same webhook-id, for a consumer that lost it. The
 * per-subject order still applies. An endpoint that was deleted receives nothing more: 409.
 */
export async function retryDelivery(sequelize: Sequelize, organizationId: string, id: string, now: Date): Promise<DeliveryView> {
  const due = await markDeliveryDue(sequelize, organizationId, id, now);
  const delivery = await findDelivery(sequelize, organizationId, id);
  if (!due) {
    throw new AppError(409, "endpoint_deleted", `Webhook delivery ${id} cannot be retried: its endpoint ${delivery.endpoint_id} was deleted.`);
  }
  return delivery;
}
