import { expect } from "chai";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const FOLDERS = ["server", "mapping", "reconciler"];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

/** Relative imports and re-exports of a file (type-only ones too: a cycle of types is still a tangle to read). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specifiers = [...text.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+"(\.{1,2}\/[^"]+)"/gms)].map((m) => m[1]!);
  return specifiers.map((s) => resolve(dirname(file), s));
}

/** Every import cycle, each as the list of files around it (Tarjan's strongly connected components). */
function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    indexOf.set(node, index);
    low.set(node, index++);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!indexOf.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, indexOf.get(next)!));
      }
    }
    if (low.get(node) === indexOf.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(component.map((f) => relative(root, f)).sort());
    }
  };
  for (const node of graph.keys()) if (!indexOf.has(node)) visit(node);
  return found;
}

describe("the module graph of server/, mapping/ and reconciler/", () => {
  const files = FOLDERS.flatMap((folder) => sourceFiles(join(root, folder)));
  const graph = new Map(files.map((file) => [file, importsOf(file)]));

  it("reads the imports of every source file", () => {
    expect(files.length).to.be.greaterThan(100);
    expect(graph.get(join(root, "server/main.ts"))).to.include(join(root, "server/app.ts"));
  });

  it("has no import cycles", () => {
    expect(cycles(graph)).to.deep.equal([]);
  });

  it("lets only the command-line entry points import the boot file (workers get their types from server/worker.ts)", () => {
    const importers = files.filter((file) => graph.get(file)!.includes(join(root, "server/main.ts"))).map((f) => relative(root, f));
    expect(importers.sort()).to.deep.equal(["reconciler/command.ts", "server/cli.ts"]);
  });
});
