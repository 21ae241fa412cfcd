import http from "node:http";
import https from "node:https";
import { performance } from "node:perf_hooks";
import { isIP } from "node:net";
import { signPayload } from "./signature.ts";
import { isBlockedAddress, publicOnlyLookup, urlHost } from "./urlSafety.ts";

/** Longest response text kept per attempt in the delivery log. */
export const EXCERPT_CHARS = 500;
/** A response body beyond this is not read (the socket is dropped instead of reused). */
const MAX_BODY_BYTES = 64 * 1024;
const USER_AGENT = "Rollcall-Webhooks/1";

/** One signed request to one endpoint. */
export type WebhookRequest = { url: string; secret: string; msgId: string; body: string; timestamp: Date };

/** What one attempt produced, as stored in webhook_attempts. */
export type AttemptResult = {
  ok: boolean;
  statusCode: number | null;
  latencyMs: number;
  responseExcerpt: string | null;
  error: string | null;
};

/** Standard Webhooks headers for a body: the signature covers `${msgId}.${unixSeconds}.${body}`. */
export function signedHeaders(request: Omit<WebhookRequest, "url">): Record<string, string> {
  return {
    "content-type": "application/json",
    "user-agent": USER_AGENT,
    "webhook-id": request.msgId,
    "webhook-timestamp": String(Math.floor(request.timestamp.getTime() / 1000)),
    "webhook-signature": signPayload(request.secret, request.msgId, request.timestamp, request.body),
  };
}

/** Sends signed webhooks over keep-alive connections, never following redirects. */
export class WebhookSender {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;

  constructor(private readonly options: { timeoutMs: number; allowPrivateUrls: boolean; maxSocketsPerOrigin?: number }) {
    // A refusing lookup on the agent covers every new connection, including keep-alive reconnects.
    const lookup = options.allowPrivateUrls ? undefined : publicOnlyLookup;
    const agentOptions = { keepAlive: true, maxSockets: options.maxSocketsPerOrigin ?? 128, ...(lookup ? { lookup } : {}) };
    this.httpAgent = new http.Agent(agentOptions);
    this.httpsAgent = new https.Agent(agentOptions);
  }

  /** Signs and POSTs one event; any failure becomes a result, never a throw. */
  async send(request: WebhookRequest): Promise<AttemptResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    let url: URL;
    try {
      url = new URL(request.url);
      if (!this.options.allowPrivateUrls && isIP(urlHost(url)) && isBlockedAddress(urlHost(url))) {
        return { ok: false, statusCode: null, latencyMs: 0, responseExcerpt: null, error: `refused: ${urlHost(url)} is not a public address` };
      }
    } catch {
      return { ok: false, statusCode: null, latencyMs: 0, responseExcerpt: null, error: "invalid endpoint URL" };
    }
    const headers = signedHeaders(request);
    try {
      const { statusCode, text } = await this.post(url, headers, request.body);
      const ok = statusCode >= 200 && statusCode < 300;
      const redirect = statusCode >= 300 && statusCode < 400;
      return {
        ok,
        statusCode,
        latencyMs: elapsed(),
        responseExcerpt: text ? text.slice(0, EXCERPT_CHARS) : null,
        error: ok ? null : redirect ? "redirects are not followed" : `HTTP ${statusCode}`,
      };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return { ok: false, statusCode: null, latencyMs: elapsed(), responseExcerpt: null, error: message.slice(0, EXCERPT_CHARS) };
    }
  }

  /** Closes idle keep-alive sockets. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private post(url: URL, headers: Record<string, string>, body: string): Promise<{ statusCode: number; text: string }> {
    const payload = Buffer.from(body, "utf8");
    const transport = url.protocol === "https:" ? https : http;
    const agent = url.protocol === "https:" ? this.httpsAgent : this.httpAgent;
    return new Promise((resolve, reject) => {
      const req = transport.request(url, { method: "POST", agent, headers: { ...headers, "content-length": String(payload.length) } });
      // One deadline for connect, upload, headers and body, so a slow consumer cannot hold a lease.
      const timer = setTimeout(() => req.destroy(new Error(`timed out after ${this.options.timeoutMs} ms`)), this.options.timeoutMs);
      req.on("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      req.on("response", (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size <= MAX_BODY_BYTES) chunks.push(chunk);
          else res.destroy();
        });
        const finish = () => {
          clearTimeout(timer);
          resolve({ statusCode: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") });
        };
        res.on("end", finish);
        res.on("close", finish);
        res.on("error", finish);
      });
      req.end(payload);
    });
  }
}
