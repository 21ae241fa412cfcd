import { cp, mkdtemp, rm } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

/**
 * PGlite's initdb is most of the time a fresh embedded database takes to start (tens of seconds on
 * a busy machine), and an embedded test run starts several (the shared service, isolated webhook
 * services, child processes). Like PostgreSQL's CREATE DATABASE from a template, the first one
 * initialises an untouched data folder once per run and every later one starts from a copy of it;
 * migrations still run on each copy as they would on a new machine.
 */
let template: Promise<string> | undefined;

async function initialisedTemplate(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "rollcall-pgtemplate-"));
  const { PGlite } = await import("@electric-sql/pglite");
  const pglite = await PGlite.create(path.join(dir, "pgdata"));
  await pglite.close();
  return dir;
}

/** Gives a Rollcall data folder an initialised, empty embedded database, unless it already holds one. */
export async function seedEmbeddedDataDir(dataDir: string): Promise<void> {
  const target = path.join(dataDir, "pgdata");
  if (existsSync(target)) return;
  template ??= initialisedTemplate();
  await cp(path.join(await template, "pgdata"), target, { recursive: true });
}

/** Removes this run's template folder (the end of the run). */
export async function removeEmbeddedTemplate(): Promise<void> {
  if (!template) return;
  const dir = await template.catch(() => undefined);
  template = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
}
