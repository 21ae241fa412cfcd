import { createHmac } from "node:crypto";

/** The prefix Standard Webhooks secrets carry before their base64 key. */
const SECRET_PREFIX = "whsec_";

/** Decoded keys of recently used secrets: decoding per request showed up in the dispatcher's profile. */
const keys = new Map<string, Buffer>();
const MAX_KEYS = 10_000;

function keyOf(secret: string): Buffer {
  let key = keys.get(secret);
  if (!key) {
    if (keys.size >= MAX_KEYS) keys.clear();
    key = Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, "base64");
    keys.set(secret, key);
  }
  return key;
}

/**
 * The Standard Webhooks signature (`v1,<base64 HMAC-SHA256 of "msgId.unixSeconds.body">`), byte for
 * byte what the standardwebhooks package's Webhook#sign gives, computed with node:crypto: the
 * package's pure-JavaScript SHA-256 took 2–3 times as long per request, at thousands of requests/s.
 */
export function signPayload(secret: string, msgId: string, timestamp: Date, body: string): string {
  const seconds = Math.floor(timestamp.getTime() / 1000);
  return `v1,${createHmac("sha256", keyOf(secret)).update(`${msgId}.${seconds}.${body}`, "utf8").digest("base64")}`;
}
