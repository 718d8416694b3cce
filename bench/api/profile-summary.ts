/**
 * Summarises a V8 `.cpuprofile` (as written by `node --cpu-prof`): where the time goes by file
 * and by function, self time (the function's own code) and inclusive time (it and what it
 * called, each sample counted once per function however deep the recursion), as % of the busy
 * samples: idle (waiting in the event loop) and the profiler's own inspector calls are left out,
 * so the figures say where the CPU time went. Paths are shown relative to the repository.
 *
 * Run: node --import tsx bench/api/profile-summary.ts <file.cpuprofile> [top=25] [filter]
 * (`filter`, e.g. `src/`, keeps the inclusive table to frames whose file contains it.)
 *
 * @module
 */
import { readFileSync } from "node:fs";

interface Frame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: Frame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg, filter = ""] = process.argv.slice(2);
if (!file) {
  console.error("usage: profile-summary.ts <file.cpuprofile> [top] [filter]");
  process.exit(2);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;

const byId = new Map<number, ProfileNode>();
const parent = new Map<number, number>();
for (const n of profile.nodes) {
  byId.set(n.id, n);
  for (const c of n.children ?? []) parent.set(c, n.id);
}

function where(f: Frame): string {
  const url = f.url.replace(/^file:\/\//, "");
  const short = url.includes("/node_modules/")
    ? `node_modules/${url.split("/node_modules/").pop()}`
    : url.replace(/^.*?\/(src|bench|test)\//, "$1/");
  return short || "(native)";
}
const label = (f: Frame) =>
  `${f.functionName || "(anonymous)"} ${where(f)}${f.url ? `:${f.lineNumber + 1}` : ""}`;

const selfFn = new Map<string, number>();
const selfFile = new Map<string, number>();
const incl = new Map<string, number>();
/** Idle, or under the inspector session that started and stops this very profile. */
function overhead(id: number): boolean {
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const f = byId.get(cur)?.callFrame;
    if (!f) continue;
    if (f.functionName === "(idle)" || (f.functionName === "post" && f.url.includes("inspector")))
      return true;
  }
  return false;
}

// A sample's weight is the time since the one before, capped at four sampling intervals: a
// process profiled from outside (SIGUSR1 and the inspector) can go long between samples while the
// session itself is served, and one such gap charged to whatever ran next made a minor function
// look like an eighth of the time.
const deltas = [...profile.timeDeltas].sort((a, b) => a - b);
const interval = deltas[Math.floor(deltas.length / 2)] ?? 1000;
let total = 0;
let all = 0;
profile.samples.forEach((id, i) => {
  const dt = Math.min(profile.timeDeltas[i] ?? 0, 4 * interval);
  all += dt;
  const node = byId.get(id);
  if (!node || overhead(id)) return;
  total += dt;
  const add = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + dt);
  add(selfFn, label(node.callFrame));
  add(selfFile, where(node.callFrame));
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const f = byId.get(cur)?.callFrame;
    if (!f) continue;
    const k = label(f);
    if (seen.has(k) || !where(f).includes(filter)) continue;
    seen.add(k);
    add(incl, k);
  }
});

function print(title: string, m: Map<string, number>): void {
  console.log(`\n${title}`);
  const rows = [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [k, v] of rows) console.log(`${((100 * v) / total).toFixed(1).padStart(6)} %  ${k}`);
}
console.log(
  `${file}: ${(all / 1e6).toFixed(2)} s sampled, ${(total / 1e6).toFixed(2)} s busy (the 100 % below)`,
);
print("self time by file", selfFile);
print("self time by function", selfFn);
print(`inclusive time by function${filter ? ` (frames in ${filter})` : ""}`, incl);
