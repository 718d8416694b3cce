/**
 * House rules as checks (DESIGN.md, "Components and the direction of dependencies"): every import
 * between components points the allowed way, and no component reaches into another's private
 * `_`-prefixed files.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { test } from "node:test";

const SRC = resolve(import.meta.dirname, "..", "src");

/**
 * What each component may import (besides itself). `_testing` is test support: it imports nothing
 * of ours and no component lists it, so only tests (which this check skips) may import it.
 */
const ALLOWED: Record<string, string[]> = {
  _testing: [],
  api: [],
  cel: ["api"],
  store: ["api"],
  apiserver: ["api", "store", "cel"],
  client: ["api"],
  controllers: ["api", "client"],
  images: [],
  nft: [],
  kubelet: ["api", "client", "images", "nft"],
  dns: ["api", "client"],
  proxy: ["api", "client", "nft"],
  ui: ["api", "client", "dns", "proxy"],
  cluster: [
    "api",
    "client",
    "store",
    "apiserver",
    "controllers",
    "kubelet",
    "dns",
    "proxy",
    "images",
    "ui",
  ],
  cli: ["api", "client", "cluster", "apiserver", "images"],
  "": [
    "api",
    "client",
    "cluster",
    "apiserver",
    "store",
    "controllers",
    "kubelet",
    "dns",
    "proxy",
    "cli",
    "images",
    "ui",
  ],
};

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (name.endsWith(".ts") && !name.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

function componentOf(file: string): string {
  const rel = relative(SRC, file).split(sep);
  return rel.length > 1 ? rel[0]! : "";
}

const IMPORT = /^\s*(?:import|export)\s[^;]*?from\s+"(\.{1,2}\/[^"]+)"/gm;

test("imports between components follow the dependency direction", () => {
  const problems: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const from = componentOf(file);
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(IMPORT)) {
      const target = resolve(dirname(file), m[1]!);
      if (!target.startsWith(SRC)) continue;
      const to = componentOf(target);
      if (to === from) continue;
      if (!ALLOWED[from]?.includes(to))
        problems.push(
          `${relative(SRC, file)} imports ${relative(SRC, target)} (${from || "root"} → ${to})`,
        );
      const privatePart = relative(join(SRC, to), target)
        .split(sep)
        .find((part) => part.startsWith("_"));
      if (privatePart)
        problems.push(`${relative(SRC, file)} reaches into private ${relative(SRC, target)}`);
    }
  }
  assert.deepEqual(problems, []);
});

test("the dependency table names every component folder", () => {
  const folders = readdirSync(SRC).filter((n) => statSync(join(SRC, n)).isDirectory());
  for (const f of folders) assert.ok(f in ALLOWED, `src/${f} is missing from the dependency table`);
});

test("VERSION is the package.json version", async () => {
  const { VERSION } = await import("../src/api/version.ts");
  const pkg = JSON.parse(readFileSync(resolve(SRC, "..", "package.json"), "utf8")) as {
    version: string;
  };
  assert.equal(VERSION, pkg.version);
});

/** Folders whose only public entry is their `index.ts`: nothing outside imports another file. */
const SEALED = [
  "apiserver/crd",
  "apiserver/admissionpolicy",
  "images",
  "kubelet/streaming",
  "kubelet/runtimes",
  "kubelet/sandbox",
];

test("sealed folders are entered only through their index.ts", () => {
  const problems: string[] = [];
  for (const folder of SEALED) {
    const root = join(SRC, folder);
    for (const file of sourceFiles(SRC)) {
      if (file.startsWith(root + sep)) continue;
      for (const m of readFileSync(file, "utf8").matchAll(IMPORT)) {
        const target = resolve(dirname(file), m[1]!);
        if (target.startsWith(root + sep) && target !== join(root, "index.ts"))
          problems.push(`${relative(SRC, file)} imports ${relative(SRC, target)}`);
      }
    }
  }
  assert.deepEqual(problems, []);
});

/**
 * Parts of a component and the files of that component outside the part they may import: a part
 * may grow only on what its line names (streaming knows nothing of the pod worker). Another part
 * is named by its entry. No part imports the worker or the agent's entry: imports go one way,
 * worker → sandbox, runtimes, streaming.
 */
const PART_IMPORTS: Record<string, string[]> = {
  "kubelet/streaming": ["kubelet/logread.ts", "kubelet/runtimes/index.ts"],
  "kubelet/runtimes": [
    "kubelet/env.ts",
    "kubelet/expand.ts",
    "kubelet/hostpaths.ts",
    "kubelet/logfile.ts",
    "kubelet/sandbox/index.ts",
  ],
  "kubelet/sandbox": ["kubelet/env.ts", "kubelet/runtimes/index.ts"],
};

test("no part of the node agent imports the worker or the agent's entry", () => {
  for (const [part, allowed] of Object.entries(PART_IMPORTS))
    for (const back of ["kubelet/worker.ts", "kubelet/index.ts", "kubelet/lifecycle.ts"])
      assert.ok(!allowed.includes(back), `${part} may not import ${back}`);
});

test("a component's parts import only the files of the component that their entry names", () => {
  const problems: string[] = [];
  for (const [part, allowed] of Object.entries(PART_IMPORTS)) {
    const root = join(SRC, part);
    const component = join(SRC, part.split("/")[0]!);
    for (const file of sourceFiles(root)) {
      for (const m of readFileSync(file, "utf8").matchAll(IMPORT)) {
        const target = resolve(dirname(file), m[1]!);
        if (!target.startsWith(component + sep) || target.startsWith(root + sep)) continue;
        const name = relative(SRC, target).split(sep).join("/");
        if (!allowed.includes(name)) problems.push(`${relative(SRC, file)} imports ${name}`);
      }
    }
  }
  assert.deepEqual(problems, []);
});
