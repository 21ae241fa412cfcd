import { expect } from "chai";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/*
 * SQL lives only in data-access modules (issue 13, docs/architecture.md "SQL"): server/models/,
 * server/db/, files named *Store.ts or *Queries.ts, and the SCIM filter compiler (server/scim/filter/).
 * Routes, commands, domain and reconciler logic hold none.
 *
 * The check is a heuristic over the source text, not a parser. A file holds SQL when, outside
 * comment lines (lines starting with //, /*, or *), it
 *   - calls sequelize.query,
 *   - imports select or execute from a sql.ts module (server/models/sql.ts), or
 *   - spells a statement in upper case: SELECT … FROM, INSERT INTO, UPDATE <table> SET, DELETE FROM.
 * Upper case is what this code base writes SQL in; prose and identifiers (a local `select()`
 * in mapping/sourcePath.ts, "update the row" in a message) do not match.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const FOLDERS = ["server", "mapping", "reconciler"];

/**
 * Justified exceptions, each with its reason. An entry that no longer holds SQL fails the test too,
 * so the list cannot go stale.
 */
const ALLOWED: Record<string, string> = {};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

function isDataAccess(path: string): boolean {
  return (
    path.startsWith("server/models/") ||
    path.startsWith("server/db/") ||
    path.startsWith("server/scim/filter/") ||
    path.includes("/migrations/") ||
    /(Store|Queries)\.ts$/.test(path)
  );
}

const SIGNALS: Array<[string, RegExp]> = [
  ["sequelize.query", /\bsequelize\.query\s*[<(]/],
  ["select/execute from sql.ts", /import\s*\{[^}]*\b(?:select|execute)\b[^}]*\}\s*from\s*"[^"]*\/sql\.ts"/],
  ["SELECT … FROM", /\bSELECT\s[\s\S]{1,400}?\bFROM\s/],
  ["INSERT INTO", /\bINSERT INTO\s/],
  ["UPDATE … SET", /\bUPDATE\s+\w+\s+SET\s/],
  ["DELETE FROM", /\bDELETE FROM\s/],
];

/** The SQL signals found in a source text, comment lines left out. */
export function sqlSignals(text: string): string[] {
  const code = text
    .split("\n")
    .filter((line) => !/^\s*(\/\/|\/\*|\*)/.test(line))
    .join("\n");
  return SIGNALS.filter(([, pattern]) => pattern.test(code)).map(([name]) => name);
}

describe("SQL placement", () => {
  const files = FOLDERS.flatMap((folder) => sourceFiles(join(root, folder))).map((file) => ({
    path: relative(root, file),
    signals: sqlSignals(readFileSync(file, "utf8")),
  }));

  it("recognises a statement, a sequelize.query call and a sql.ts import, and ignores prose, comments and a local select()", () => {
    expect(sqlSignals("const rows = await sequelize.query<Row>(`x`);")).to.deep.equal(["sequelize.query"]);
    expect(sqlSignals('import { execute, select } from "../models/sql.ts";')).to.deep.equal(["select/execute from sql.ts"]);
    expect(sqlSignals("q(`SELECT id\n  FROM users WHERE id = $1`)")).to.deep.equal(["SELECT … FROM"]);
    expect(sqlSignals("`UPDATE webhook_endpoints SET url = $1`")).to.deep.equal(["UPDATE … SET"]);
    expect(sqlSignals("`INSERT INTO teams (id) VALUES ($1)`; `DELETE FROM teams`")).to.deep.equal(["INSERT INTO", "DELETE FROM"]);
    expect(sqlSignals("// SELECT * FROM users is done in models/\n * UPDATE users SET x\nconst v = select(current, step);")).to.deep.equal([]);
    expect(sqlSignals('throw new Error("select a user to update from the list");')).to.deep.equal([]);
  });

  it("finds SQL in no module under server/, reconciler/ or mapping/ other than data-access modules and the allow-list", () => {
    const misplaced = files
      .filter((f) => f.signals.length > 0 && !isDataAccess(f.path) && !(f.path in ALLOWED))
      .map((f) => `${f.path}: ${f.signals.join(", ")}`);
    expect(misplaced, "move these statements into a models/ (or *Queries.ts / *Store.ts) module").to.deep.equal([]);
  });

  it("allows only files that still hold SQL and are not data-access modules by name", () => {
    const stale = Object.keys(ALLOWED).filter((path) => {
      const file = files.find((f) => f.path === path);
      return !file || file.signals.length === 0 || isDataAccess(path);
    });
    expect(stale, "remove these entries from ALLOWED").to.deep.equal([]);
  });

  it("sees SQL in the data-access modules, so the heuristic is looking at the right text", () => {
    const withSql = files.filter((f) => f.signals.length > 0 && isDataAccess(f.path)).map((f) => f.path);
    expect(withSql).to.include.members(["server/models/userQueries.ts", "server/models/webhookEndpointQueries.ts", "server/models/sealedSecretQueries.ts"]);
  });
});
