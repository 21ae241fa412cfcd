import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** A fake IdP's request handler: the parsed URL, the request, its body and the response to write. */
export type FakeHandler = (url: URL, req: IncomingMessage, body: string, res: ServerResponse) => void | Promise<void>;

/** A running fake IdP on a free loopback port. */
export type FakeServer = { url: string; requests: string[]; close(): Promise<void> };

/** Serves `handler` on 127.0.0.1 (port 0: the OS picks a free one), recording each request line. */
export async function serveFake(handler: FakeHandler): Promise<FakeServer> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      requests.push(`${req.method} ${url.pathname}${url.search}`);
      Promise.resolve(handler(url, req, Buffer.concat(chunks).toString("utf8"), res)).catch((error: unknown) => {
        res.statusCode = 500;
        res.end(String(error));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Writes a JSON answer. */
export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}
