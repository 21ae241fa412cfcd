import { signPayload } from "../signature.ts";

/*
 * The Standard Webhooks format (the default): the JSON event body, signed with the endpoint secret.
 * During a secret rotation's overlap the previous secret signs too: `webhook-signature` then holds
 * one `v1,<base64>` per secret, space-separated, as the spec allows, and a consumer holding either
 * secret verifies the request.
 */

/** The secrets that sign at `at`: the current one, and the previous one until its overlap ends. */
export function signingSecrets(endpoint: { secret: string; previous_secret: string | null; previous_secret_expires_at: Date | null }, at: Date): string[] {
  const previousValid = endpoint.previous_secret !== null && endpoint.previous_secret_expires_at !== null && endpoint.previous_secret_expires_at.getTime() > at.getTime();
  return previousValid ? [endpoint.secret, endpoint.previous_secret!] : [endpoint.secret];
}

/** Standard Webhooks headers for a body: each signature covers `${msgId}.${unixSeconds}.${body}`. */
export function standardWebhookHeaders(request: { secrets: string[]; msgId: string; body: string; timestamp: Date }): Record<string, string> {
  return {
    "content-type": "application/json",
    "webhook-id": request.msgId,
    "webhook-timestamp": String(Math.floor(request.timestamp.getTime() / 1000)),
    "webhook-signature": request.secrets.map((secret) => signPayload(secret, request.msgId, request.timestamp, request.body)).join(" "),
  };
}
