// Test helper for ranges.test.ts: takes a lease in the registry named by argv[2], prints its
// ranges as one JSON line, and holds it until stdin ends.
import { leaseRanges } from "./ranges.ts";

const lease = await leaseRanges(
  { name: `child-${process.pid}`, dataDir: "" },
  { dir: process.argv[2] ?? "" },
);
process.stdout.write(`${JSON.stringify(lease.ranges)}\n`);
process.stdin.resume();
process.stdin.once("end", () => {
  lease.release();
  process.exit(0);
});
