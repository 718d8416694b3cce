#!/usr/bin/env node
// Runs every *.test.ts under the given folders (default: src and test) with node:test through
// tsx, in one invocation so that the runner prints one summary for the whole suite.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

function findTests(dir) {
  const out = [];
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    if (name === "node_modules" || name === "dist" || name.startsWith(".")) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith(".test.ts")) out.push(p);
  }
  return out.sort();
}

const roots = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ["src", "test"];
const files = roots.flatMap(findTests);
console.log(`# ${files.length} test files under ${roots.join(", ")}`);
const r = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", "--test-concurrency=2", "--test-reporter=spec", ...files],
  // Clusters started by the tests freeze stored objects (src/cluster): shared objects that some
  // code mutates fail loudly here instead of silently corrupting the store.
  { stdio: "inherit", env: { ...process.env, LOOPKUBE_FREEZE_OBJECTS: "1" } },
);
process.exit(r.status ?? 1);
