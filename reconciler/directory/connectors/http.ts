import http from "node:http";
import https from "node:https";
import type { Metrics } from "../../../server/metrics.ts";
import type { DirectoryProvider } from "../settings.ts";
import { DirectoryAuthError, DirectoryRequestError } from "./types.ts";

/** What every connector's HTTP client needs; tests and benches pass a clock and sleep of their own. */
export type HttpOptions = {
  provider: DirectoryProvider;
  metrics?: Pick<Metrics, "directoryRequests">;
  timeoutMs: number;
  /** Share (0–1] of the IdP's advertised rate limit Rollcall may use in one window. */
  rateLimitShare: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Retries of one request on 429 and 5xx before giving up. */
  maxRetries?: number;
  /** The longest a single wait may be (a bogus Reset header must not park a run for an hour). */
  maxWaitMs?: number;
  /**
   * Whether an error answer is the IdP throttling rather than refusing: Google answers a quota
   * overrun with 403 and reason rateLimitExceeded, which must be waited out, not reported as bad
   * credentials. 429 is always throttling.
   */
  throttled?: (status: number, body: unknown) => boolean;
};

export type JsonResponse = { status: number; headers: Headers; body: unknown };

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/*
 * The requests go through node:http(s), not the global fetch. Measured (BENCHMARKS.md, directory
 * section): fetch (undici) keeps every Response reachable through a FinalizationRegistry, which
 * the young-generation collector treats as strong, so each IdP page and its response objects were
 * promoted to the old generation and stayed there until a full collection: ~2 MB per scavenge
 * during a 100,000-user pass, where node:http promotes ~0.5 MB. Idle keep-alive sockets are
 * unref'd by the agent, so they never hold a process open.
 */
const agents = { "http:": new http.Agent({ keepAlive: true }), "https:": new https.Agent({ keepAlive: true }) };

type RawResponse = { status: number; headers: Headers; text: string };

/** One HTTP exchange: the whole answer read as text, or an error (unreachable, reset, timed out). Never follows redirects. */
function exchange(url: string, init: { method?: string; headers?: Record<string, string>; body?: string }, timeoutMs: number): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const secure = target.protocol === "https:";
    const headers: Record<string, string> = { accept: "application/json", "user-agent": "rollcall-directory", ...init.headers };
    if (init.body !== undefined) headers["content-length"] = String(Buffer.byteLength(init.body));
    const req = (secure ? https : http).request(target, { method: init.method ?? "GET", headers, agent: agents[secure ? "https:" : "http:"] }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", fail);
      res.on("end", () => {
        clearTimeout(timer);
        const answer = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          if (value === undefined) continue;
          for (const v of Array.isArray(value) ? value : [value]) answer.append(name, v);
        }
        resolve({ status: res.statusCode ?? 0, headers: answer, text: Buffer.concat(chunks).toString("utf8") });
      });
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    function fail(error: Error) {
      clearTimeout(timer);
      reject(error);
    }
    req.on("error", fail);
    req.end(init.body);
  });
}

/**
 * A vendor error body's message: Okta errorSummary, Graph and Google error.message, OAuth
 * error_description, OneLogin's status.message (token endpoint) or message (API v2).
 */
export function vendorDetail(body: unknown): string {
  if (body && typeof body === "object") {
    const b = body as Record<string, unknown>;
    if (typeof b.errorSummary === "string") return `${b.errorCode ?? ""} ${b.errorSummary}`.trim();
    if (b.status && typeof b.status === "object" && typeof (b.status as Record<string, unknown>).message === "string") {
      const st = b.status as Record<string, unknown>;
      return `${st.type ?? ""}: ${st.message}`.replace(/^: /, "");
    }
    if (b.error && typeof b.error === "object") {
      const e = b.error as Record<string, unknown>;
      return `${e.code ?? ""} ${e.message ?? ""}`.trim();
    }
    if (typeof b.error_description === "string") return `${b.error ?? ""}: ${b.error_description}`;
    if (typeof b.error === "string") return b.error;
    if (typeof b.message === "string") return b.message;
  }
  return typeof body === "string" ? body.slice(0, 200) : "no detail";
}

/**
 * The one HTTP client of the directory connectors: node:http(s) with a timeout, JSON in and out,
 * retries on 429 (waiting Retry-After or until X-Rate-Limit-Reset) and on 5xx (backoff), and a
 * self-imposed budget: once the IdP says this window has used more than `rateLimitShare` of its
 * limit (X-Rate-Limit-Limit/Remaining/Reset, as Okta sends them), it waits for the reset, so the
 * customer's other integrations keep the rest of the limit. Every request is counted in
 * rollcall_directory_requests_total{provider,status}. Credentials never appear in errors or logs.
 */
export class DirectoryHttp {
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly maxRetries: number;
  private readonly maxWaitMs: number;
  /** The IdP's window as last reported: wait until `resetAt` once `used / limit` reaches the share. */
  private window: { limit: number; remaining: number; resetAt: number } | null = null;
  requests = 0;

  constructor(private readonly options: HttpOptions) {
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? defaultSleep;
    this.maxRetries = options.maxRetries ?? 5;
    this.maxWaitMs = options.maxWaitMs ?? 60_000;
  }

  private async respectBudget(): Promise<void> {
    const w = this.window;
    if (!w || w.limit <= 0) return;
    const used = w.limit - w.remaining;
    if (used < w.limit * this.options.rateLimitShare) return;
    const wait = w.resetAt - this.now();
    if (wait > 0) await this.sleep(Math.min(wait, this.maxWaitMs));
    this.window = null;
  }

  private observe(headers: Headers): void {
    const okta = rateWindow(headers, "x-rate-limit-");
    // OneLogin spells them X-RateLimit-* and its Reset counts the seconds left in the window.
    const onelogin = okta ? null : rateWindow(headers, "x-ratelimit-");
    if (okta) this.window = { limit: okta.limit, remaining: okta.remaining, resetAt: okta.reset * 1000 };
    else if (onelogin) this.window = { limit: onelogin.limit, remaining: onelogin.remaining, resetAt: this.now() + onelogin.reset * 1000 };
  }

  /**
   * How long a throttled answer asks to wait: Retry-After (seconds or a date), else Okta's
   * X-Rate-Limit-Reset (epoch seconds) or OneLogin's X-RateLimit-Reset (seconds left), else
   * exponential backoff from 1 s with jitter (Google's advice for its 403/429 quota answers).
   */
  private throttleWait(headers: Headers, attempt: number): number {
    const retryAfter = headers.get("retry-after");
    if (retryAfter) {
      const seconds = Number(retryAfter);
      if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
      const date = Date.parse(retryAfter);
      if (Number.isFinite(date)) return Math.max(0, date - this.now());
    }
    const reset = Number(headers.get("x-rate-limit-reset"));
    if (headers.has("x-rate-limit-reset") && Number.isFinite(reset)) return Math.max(0, reset * 1000 - this.now());
    const left = Number(headers.get("x-ratelimit-reset"));
    if (headers.has("x-ratelimit-reset") && Number.isFinite(left)) return Math.max(0, left * 1000);
    return 1000 * 2 ** attempt + Math.floor(Math.random() * 250);
  }

  /** Sends one request (retrying as above) and parses the JSON answer; 401/403 throw DirectoryAuthError. */
  async request(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<JsonResponse> {
    const { provider } = this.options;
    for (let attempt = 0; ; attempt++) {
      await this.respectBudget();
      let response: RawResponse;
      try {
        this.requests += 1;
        response = await exchange(url, init, this.options.timeoutMs);
      } catch (error) {
        this.options.metrics?.directoryRequests.inc({ provider, status: "error" });
        if (attempt < this.maxRetries) {
          await this.sleep(Math.min(250 * 2 ** attempt, this.maxWaitMs));
          continue;
        }
        throw new DirectoryRequestError(provider, 0, `${new URL(url).host} unreachable: ${error instanceof Error ? error.message : String(error)}`);
      }
      this.options.metrics?.directoryRequests.inc({ provider, status: String(response.status) });
      this.observe(response.headers);
      const text = response.text;
      let body: unknown = text;
      try {
        body = text.length > 0 ? JSON.parse(text) : null;
      } catch {
        // Not JSON (a proxy's HTML error page): keep the text for the error detail.
      }
      if (response.status >= 200 && response.status < 300) return { status: response.status, headers: response.headers, body };
      const throttled = response.status === 429 || (this.options.throttled?.(response.status, body) ?? false);
      if (!throttled && (response.status === 401 || response.status === 403)) throw new DirectoryAuthError(provider, response.status, vendorDetail(body));
      if ((throttled || response.status >= 500) && attempt < this.maxRetries) {
        const wait = throttled ? this.throttleWait(response.headers, attempt) : 250 * 2 ** attempt;
        await this.sleep(Math.min(wait, this.maxWaitMs));
        continue;
      }
      throw new DirectoryRequestError(provider, response.status, vendorDetail(body));
    }
  }

  /** GET returning JSON. */
  async get(url: string, headers: Record<string, string>): Promise<JsonResponse> {
    return this.request(url, { headers });
  }
}

/** Limit, remaining and reset of one spelling of the rate-limit headers, when all three are there. */
function rateWindow(headers: Headers, prefix: string): { limit: number; remaining: number; reset: number } | null {
  if (!headers.has(`${prefix}limit`) || !headers.has(`${prefix}remaining`) || !headers.has(`${prefix}reset`)) return null;
  const limit = Number(headers.get(`${prefix}limit`));
  const remaining = Number(headers.get(`${prefix}remaining`));
  const reset = Number(headers.get(`${prefix}reset`));
  return Number.isFinite(limit) && limit > 0 && Number.isFinite(remaining) && Number.isFinite(reset) ? { limit, remaining, reset } : null;
}

/** The URL of `Link: <…>; rel="next"` (RFC 8288, as Okta pages), or null on the last page. */
export function nextLink(headers: Headers): string | null {
  const link = headers.get("link");
  if (!link) return null;
  for (const part of link.split(",")) {
    const match = /<([^>]+)>\s*;\s*rel="?next"?/i.exec(part.trim());
    if (match) return match[1]!;
  }
  return null;
}

/** A cached bearer token of a connector: whether one is cached, the Authorization value (fetching one when needed), and dropping it. */
export type BearerToken = { cached(): boolean; authorization(): Promise<string>; drop(): void };

/** GET with the bearer; a 401 on a cached token (revoked, replaced by a newer one, or expired early) fetches a new one once. */
export async function getWithBearer(client: DirectoryHttp, url: string, token: BearerToken): Promise<JsonResponse> {
  const cached = token.cached();
  try {
    return await client.get(url, { authorization: await token.authorization() });
  } catch (error) {
    if (!(cached && error instanceof DirectoryAuthError && error.status === 401)) throw error;
    token.drop();
    return client.get(url, { authorization: await token.authorization() });
  }
}

/** A bearer token and when it expires (milliseconds since the epoch). */
export type IssuedToken = { token: string; expiresAt: number };

/**
 * Asks an OAuth token endpoint for an access token. A 400 there (invalid_grant, an unknown client or
 * tenant, a bad assertion) is the credentials' fault, and so is an answer without access_token:
 * both become DirectoryAuthError. `detailOf` words the 400's detail (default: the whole message).
 */
export async function requestAccessToken(
  client: DirectoryHttp,
  provider: DirectoryProvider,
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string },
  options: { now: number; defaultExpiresInS: number; detailOf?: (error: DirectoryRequestError) => string },
): Promise<IssuedToken> {
  let res: JsonResponse;
  try {
    res = await client.request(url, init);
  } catch (error) {
    if (error instanceof DirectoryRequestError && error.status === 400) throw new DirectoryAuthError(provider, 400, (options.detailOf ?? ((e) => e.message))(error));
    throw error;
  }
  const body = res.body as { access_token?: string; expires_in?: number };
  if (!body.access_token) throw new DirectoryAuthError(provider, res.status, vendorDetail(res.body));
  return { token: body.access_token, expiresAt: options.now + (body.expires_in ?? options.defaultExpiresInS) * 1000 };
}
