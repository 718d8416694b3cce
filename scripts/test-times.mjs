// A node:test reporter that adds up the time of each test file's top-level tests and, when the
// run ends, prints the slowest files and keeps every file's figure in `.test-times.json` (not
// committed). scripts/test.mjs starts the slowest files first on the next run, so a long file
// does not begin last and keep the run going alone.
import { writeFileSync } from "node:fs";
import { relative } from "node:path";

export const timesFile = ".test-times.json";

export default async function* testTimes(source) {
  const perFile = new Map();
  for await (const event of source) {
    if (event.type !== "test:pass" && event.type !== "test:fail") continue;
    const { nesting, file, details } = event.data;
    if (nesting !== 0 || file === undefined) continue;
    const name = relative(process.cwd(), file);
    perFile.set(name, (perFile.get(name) ?? 0) + (details.duration_ms ?? 0));
  }
  const sorted = [...perFile].sort((a, b) => b[1] - a[1]);
  if (sorted.length === 0) return;
  try {
    writeFileSync(
      timesFile,
      `${JSON.stringify(Object.fromEntries(sorted.map(([f, ms]) => [f, Math.round(ms)])), null, 1)}\n`,
    );
  } catch {
    // A read-only checkout still gets the list below.
  }
  const total = sorted.reduce((sum, [, ms]) => sum + ms, 0);
  yield `\n# slowest test files (seconds of ${(total / 1000).toFixed(0)} s in all files):\n`;
  for (const [f, ms] of sorted.slice(0, 15))
    yield `#   ${(ms / 1000).toFixed(1).padStart(6)}  ${f}\n`;
}
