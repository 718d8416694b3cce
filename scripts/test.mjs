#!/usr/bin/env node
// Runs every *.test.ts under the given folders (default: src and test) with node:test through
// tsx, in one invocation so that the runner prints one summary for the whole suite.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { bundle } from "./bundle.mjs";

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
// Slowest first, by the figures the last run left (scripts/test-times.mjs); without them the
// end-to-end files first. With two files at a time, a long file started last would run alone at
// the end. Files of equal weight keep their order.
const files = slowestFirst(roots.flatMap(findTests));
console.log(`# ${files.length} test files under ${roots.join(", ")}`);
// The `loopkube` processes that end-to-end tests start run these sources bundled as users get
// them (scripts/bundle.mjs), built once here: through tsx each start cost some 3 s of CPU.
// test/_cli.ts starts the sources through tsx when LOOPKUBE_TEST_CLI is not set.
mkdirSync("tmp", { recursive: true });
const cliDir = resolve(mkdtempSync(join("tmp", "test-cli-")));
await bundle({
  cli: "src/cli/main.ts",
  worker: "src/apiserver/http/_bodyworker.ts",
  outdir: cliDir,
});
const r = spawnSync(
  process.execPath,
  [
    "--import",
    "tsx",
    "--test",
    "--test-concurrency=2",
    "--test-reporter=spec",
    "--test-reporter-destination=stdout",
    "--test-reporter=./scripts/test-times.mjs",
    "--test-reporter-destination=stdout",
    ...files,
  ],
  // Clusters started by the tests freeze stored objects (src/cluster): shared objects that some
  // code mutates fail loudly here instead of silently corrupting the store.
  {
    stdio: "inherit",
    env: {
      ...process.env,
      LOOPKUBE_FREEZE_OBJECTS: "1",
      LOOPKUBE_TEST_CLI: join(cliDir, "loopkube.mjs"),
    },
  },
);
rmSync(cliDir, { recursive: true, force: true });
process.exit(r.status ?? 1);

function slowestFirst(list) {
  let times = {};
  try {
    times = JSON.parse(readFileSync(".test-times.json", "utf8"));
  } catch {
    // A fresh clone (CI) has no figures: the end-to-end files (seconds each) go first and the
    // unit files (most well under a second) fill the gaps at the end.
  }
  const guess = (f) => (f.split(/[\\/]/)[0] === "test" ? 10_000 : 0);
  return list
    .map((f, i) => ({ f, i, ms: times[f] ?? guess(f) }))
    .sort((a, b) => b.ms - a.ms || a.i - b.i)
    .map((x) => x.f);
}
