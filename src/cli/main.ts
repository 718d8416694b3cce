/**
 * Runnable entry of the command for development and tests (`node --import tsx src/cli/main.ts`);
 * `bin/loopkube.js` does the same with the bundled output (`dist/loopkube.mjs`).
 *
 * @module
 */
import { main } from "./index.ts";

main(process.argv).catch((err: unknown) => {
  console.error(`loopkube: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
