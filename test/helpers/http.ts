import { TEST_ADMIN_KEY } from "./testService.ts";

export type JsonResponse = { status: number; headers: Headers; contentType: string; body: any; text: string };

/** Sends one HTTP request and parses a JSON body when there is one. */
export async function request(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string | undefined; body?: unknown; rawBody?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<JsonResponse> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.token !== undefined) headers.Authorization = `Bearer ${options.token}`;
  let payload: string | Blob | undefined;
  if (options.rawBody !== undefined) payload = typeof options.rawBody === "string" ? options.rawBody : new Blob([new Uint8Array(options.rawBody)]);
  else if (options.body !== undefined) payload = JSON.stringify(options.body);
  if (payload !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === "content-type")) {
    headers["Content-Type"] = "application/scim+json";
  }
  const response = await fetch(`${baseUrl}${path}`, { method, headers, body: payload });
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return {
    status: response.status,
    headers: response.headers,
    contentType: (response.headers.get("content-type") ?? "").split(";")[0]!.trim(),
    body,
    text,
  };
}

/** Admin API call with the test admin key. */
export function admin(baseUrl: string, method: string, path: string, body?: unknown): Promise<JsonResponse> {
  return request(baseUrl, method, path, { token: TEST_ADMIN_KEY, body, headers: body === undefined ? {} : { "Content-Type": "application/json" } });
}

/** SCIM call under /scim/v2 with a SCIM token. */
export function scim(baseUrl: string, token: string | undefined, method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<JsonResponse> {
  return request(baseUrl, method, `/scim/v2${path}`, { token, body, headers });
}
