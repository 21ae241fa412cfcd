// npm run build: tsc emits only JavaScript; the portal's static files (served from beside the
// compiled module, server/portal/assets.ts) are copied next to it so dist/ runs on its own.
import { cpSync } from "node:fs";

cpSync("server/portal/assets", "dist/server/portal/assets", { recursive: true });
