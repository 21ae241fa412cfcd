import type { Service } from "../../server/main.ts";
import { createFreshDatabase, serverUrl } from "./testDatabase.ts";
import { startTestService } from "./testService.ts";
import { removeEmbeddedTemplate } from "./embeddedTemplate.ts";

/**
 * One database and one shared service per test run (migrated once). Tests build their own
 * organizations and tokens with the factories, so they neither interfere nor need truncation.
 */
export const shared: { databaseUrl: string | undefined; service: Service } = {} as never;

let dropDatabase: (() => Promise<void>) | undefined;

before(async function () {
  this.timeout(120_000);
  if (serverUrl) {
    const fresh = await createFreshDatabase(serverUrl);
    shared.databaseUrl = fresh.url;
    dropDatabase = fresh.drop;
  } else {
    shared.databaseUrl = undefined;
  }
  shared.service = await startTestService(shared.databaseUrl);
});

after(async function () {
  this.timeout(60_000);
  await shared.service?.stop();
  await dropDatabase?.();
  await removeEmbeddedTemplate();
});
