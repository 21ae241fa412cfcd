import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

/**
 * A webhook consumer in its own process, answering 200 to everything and counting what it got.
 * In the benchmark process it would share an event loop with autocannon and delay the very
 * responses autocannon is timing.
 */
export type WebhookSink = { url: string; stats(): Promise<{ received: number; distinct: number }>; stop(): Promise<void> };

type Message = { type: "listening"; port: number } | { type: "stats"; received: number; distinct: number };

export async function startWebhookSink(): Promise<WebhookSink> {
  const child: ChildProcess = fork(fileURLToPath(new URL("./webhookSinkProcess.mjs", import.meta.url)), { stdio: ["ignore", "ignore", "inherit", "ipc"] });
  const next = (type: Message["type"]) =>
    new Promise<Message>((resolve, reject) => {
      const onMessage = (message: Message) => {
        if (message.type !== type) return;
        child.off("message", onMessage);
        resolve(message);
      };
      child.on("message", onMessage);
      child.once("exit", (code) => reject(new Error(`webhook sink exited with ${code}`)));
    });
  const listening = (await next("listening")) as Extract<Message, { type: "listening" }>;
  return {
    url: `http://127.0.0.1:${listening.port}/webhooks`,
    async stats() {
      const reply = next("stats");
      child.send("stats");
      const { received, distinct } = (await reply) as Extract<Message, { type: "stats" }>;
      return { received, distinct };
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    },
  };
}
