#!/usr/bin/env node
// The loopkube command. Runs the compiled output (built by `npm ci` through `prepare`).
import { main } from "../dist/src/cli/index.js";

main(process.argv).catch((err) => {
  console.error(`loopkube: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
