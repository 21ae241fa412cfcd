import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type Router from "@koa/router";
import type { AppState } from "../context.ts";
import { NotFoundError } from "../errors.ts";

const ASSETS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "assets");
const TYPES: Record<string, string> = { ".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8" };

/** The portal's own script and stylesheet, read once at start; nothing comes from a CDN. */
export function assetRoutes(router: Router<AppState>): void {
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const name of ["portal.css", "portal.js"]) {
    files.set(name, { body: readFileSync(path.join(ASSETS_DIR, name)), type: TYPES[path.extname(name)]! });
  }
  router.get("/portal/assets/:file", (ctx) => {
    const file = files.get(ctx.params.file ?? "");
    if (!file) throw new NotFoundError("Asset", ctx.params.file);
    ctx.type = file.type;
    ctx.set("Cache-Control", "public, max-age=300");
    ctx.body = file.body;
  });
}
