#!/usr/bin/env node
// The loopkube command. Runs the bundled CLI (built by `npm ci` through `prepare`: tsc, then
// scripts/bundle.mjs).
import { main } from "../dist/loopkube.mjs";

main(process.argv).catch((err) => {
  console.error(`loopkube: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
