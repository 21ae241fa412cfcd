/*
 * The fake Okta of bench/directory.ts, in its own process so the benchmark's RSS is Rollcall's
 * alone. Builds BENCH_USERS users (all assigned to the app), BENCH_GROUPS groups of
 * BENCH_GROUP_SIZE members each, and serves them in pages of 200 with a per-minute rate limit.
 * IPC: sends {url} when listening; on {change: n} suspends n users (bumping lastUpdated) and
 * answers {changed: n}.
 */
import { startFakeOkta, emptyOktaState } from "../test/fakes/okta.ts";

const users = Number(process.env.BENCH_USERS ?? 100_000);
const groups = Number(process.env.BENCH_GROUPS ?? 2_000);
const groupSize = Number(process.env.BENCH_GROUP_SIZE ?? 150);
const rateLimit = Number(process.env.BENCH_RATE_LIMIT ?? 6_000);

const pad = (n: number, width: number) => String(n).padStart(width, "0");
export const oktaId = (i: number) => `00u${pad(i, 7)}`;

const state = emptyOktaState();
for (let i = 0; i < users; i++) {
  const id = oktaId(i);
  state.users.set(id, { id, login: `u${pad(i, 7)}@bench.example`, email: `u${pad(i, 7)}@bench.example`, firstName: "Bench", lastName: `User ${i}`, status: "ACTIVE", lastUpdated: "2026-12-01T00:00:00.000Z" });
  state.appUsers.set(id, "USER");
}
for (let j = 0; j < groups; j++) {
  const id = `00g${pad(j, 5)}`;
  const members = new Set<string>();
  for (let k = 0; k < groupSize; k++) members.add(oktaId((j * 50 + k) % users));
  state.groups.set(id, { id, name: `Group ${pad(j, 5)}`, members });
  state.appGroups.add(id);
}

const fake = await startFakeOkta({ appId: "0oa_bench", apiToken: "bench-token", pageSize: 200, rateLimit: { limit: rateLimit, windowMs: 60_000 }, cacheListings: true }, state);
process.send!({ url: fake.url });
process.on("message", (message: { change?: number; stop?: boolean }) => {
  if (message.stop) {
    void fake.close().then(() => process.exit(0));
    return;
  }
  const n = message.change ?? 0;
  const at = new Date(Date.now() + 1000);
  // Every 997th user: spread over the id range, like real changes.
  for (let c = 0; c < n; c++) {
    const id = oktaId((c * 997) % users);
    state.users.get(id)!.status = "SUSPENDED";
    fake.bump(id, at);
  }
  fake.invalidate();
  process.send!({ changed: n });
});
