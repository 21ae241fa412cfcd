import { connect } from "node:net";

/** A response read off a raw socket: status, lower-cased headers, body bytes as text. */
export type RawResponse = { status: number; headers: Record<string, string>; body: string };

/**
 * Writes bytes to the server as they are (no client-side path normalisation, header validation or
 * encoding) and reads the response until the server closes or `Content-Length` bytes arrived.
 */
export function rawRequest(baseUrl: string, bytes: Buffer | string, timeoutMs = 10_000): Promise<RawResponse> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString("latin1");
      const headEnd = text.indexOf("\r\n\r\n");
      if (headEnd === -1) return reject(new Error(`no HTTP response (got ${JSON.stringify(text.slice(0, 200))})`));
      const [statusLine, ...headerLines] = text.slice(0, headEnd).split("\r\n");
      const headers: Record<string, string> = {};
      for (const line of headerLines) {
        const colon = line.indexOf(":");
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const body = Buffer.from(text.slice(headEnd + 4), "latin1").toString("utf8");
      resolve({ status: Number(statusLine!.split(" ")[1]), headers, body });
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      const text = Buffer.concat(chunks).toString("latin1");
      const headEnd = text.indexOf("\r\n\r\n");
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, headEnd === -1 ? 0 : headEnd));
      if (headEnd !== -1 && length && Buffer.byteLength(text.slice(headEnd + 4), "latin1") >= Number(length[1])) finish();
    });
    socket.on("end", finish);
    socket.on("close", finish);
    // The server may answer (413, 431) and close before it read everything we send: that is fine.
    socket.on("error", finish);
    socket.write(bytes);
  });
}

/** Builds an HTTP/1.1 request with `Connection: close`; `body` is sent as is with its Content-Length unless `chunked`. */
export function buildRequest(method: string, path: string, headers: Array<[string, string]>, body?: Buffer | string, options: { chunked?: boolean } = {}): Buffer {
  const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body, "utf8");
  const lines = [`${method} ${path} HTTP/1.1`, "Host: 127.0.0.1", "Connection: close", ...headers.map(([k, v]) => `${k}: ${v}`)];
  if (payload !== undefined && !options.chunked) lines.push(`Content-Length: ${payload.length}`);
  if (payload !== undefined && options.chunked) lines.push("Transfer-Encoding: chunked");
  const head = Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1");
  if (payload === undefined) return head;
  if (!options.chunked) return Buffer.concat([head, payload]);
  // Chunks of 64 KB, then the terminator: a streamed upload with no declared size.
  const parts: Buffer[] = [head];
  for (let offset = 0; offset < payload.length; offset += 65_536) {
    const chunk = payload.subarray(offset, offset + 65_536);
    parts.push(Buffer.from(`${chunk.length.toString(16)}\r\n`, "latin1"), chunk, Buffer.from("\r\n", "latin1"));
  }
  parts.push(Buffer.from("0\r\n\r\n", "latin1"));
  return Buffer.concat(parts);
}
