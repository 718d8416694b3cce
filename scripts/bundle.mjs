// Bundles the compiled CLI (dist/src/cli/index.js, built by tsc) into one file,
// dist/loopkube.mjs, which bin/loopkube.js runs. Why: Node resolves and compiles each of the
// ~250 modules of the CLI and its dependencies on every start, which was most of the time before
// the API answered; one file starts in about a third of that. The SQLite drivers stay outside:
// node:sqlite is built into Node, and better-sqlite3 (optional, for Node 20) loads a native addon
// and is required only at first use, so the bundle runs where it is not installed. The library
// (`import ... from "loopkube"`) keeps the per-module build.
import { build } from "esbuild";

await build({
  entryPoints: ["dist/src/cli/index.js"],
  outfile: "dist/loopkube.mjs",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  external: ["better-sqlite3"],
  // CommonJS dependencies (ws, commander) call require() for Node's built-ins.
  banner: {
    js: "import { createRequire as __loopkubeRequire } from 'node:module';\nconst require = __loopkubeRequire(import.meta.url);",
  },
  legalComments: "linked",
  logLevel: "warning",
});
