#!/usr/bin/env node
// The `rollcall` command (and `npm start`). With NODE_ENV=production it runs the compiled
// JavaScript in dist/ (`npm run build`): no TypeScript transpiler, no compile cache on disk, a
// faster start. Otherwise it runs the TypeScript sources through tsx (a dev dependency that
// `npm install` brings), so a newcomer's `npm install && npm start` needs no build step and an
// edited source takes effect on the next start, never a stale dist/.
import { existsSync } from "node:fs";

const compiled = new URL("../dist/server/cli.js", import.meta.url);

if (process.env.NODE_ENV === "production") {
  if (!existsSync(compiled)) {
    process.stderr.write("rollcall: NODE_ENV=production runs the compiled build, and dist/ is missing: run `npm run build` first\n");
    process.exit(78);
  }
  await import(compiled.href);
} else {
  const { tsImport } = await import("tsx/esm/api");
  await tsImport("../server/cli.ts", import.meta.url);
}
