// The process behind bench/webhookSink.ts: a loopback HTTP server that answers 200 and counts
// deliveries and distinct webhook-ids (a redelivery after a lease expiry counts once in `distinct`).
import { createServer } from "node:http";

let received = 0;
const ids = new Set();
const server = createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    received++;
    ids.add(String(req.headers["webhook-id"]));
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("ok");
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, "127.0.0.1", () => process.send({ type: "listening", port: server.address().port }));
process.on("message", (message) => {
  if (message === "stats") process.send({ type: "stats", received, distinct: ids.size });
});
process.on("SIGTERM", () => server.close(() => process.exit(0)) && server.closeAllConnections());
