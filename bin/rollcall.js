#!/usr/bin/env node
// The `rollcall` command: runs the TypeScript CLI through tsx, so no build step is needed.
import { tsImport } from "tsx/esm/api";

await tsImport("../server/cli.ts", import.meta.url);
