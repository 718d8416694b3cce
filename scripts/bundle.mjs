// Bundles the compiled CLI (dist/src/cli/index.js, built by tsc) into one file,
// dist/loopkube.mjs, which bin/loopkube.js runs. Why: Node resolves and compiles each of the
// ~250 modules of the CLI and its dependencies on every start, which was most of the time before
// the API answered; one file starts in about a third of that. The SQLite drivers stay outside:
// node:sqlite is built into Node, and better-sqlite3 (optional, for Node 20) loads a native addon
// and is required only at first use, so the bundle runs where it is not installed. The library
// (`import ... from "loopkube"`) keeps the per-module build.
//
// The API server's body worker thread (src/apiserver/http/_bodyworker.ts) needs a file of its
// own to load: it is bundled beside the CLI as dist/loopkube-bodyworker.mjs, and the CLI bundle is
// told its name through LOOPKUBE_BODY_WORKER (src/apiserver/http/bodypool.ts).
import { build } from "esbuild";

const WORKER = "loopkube-bodyworker.mjs";

const common = {
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
};

await build({
  ...common,
  entryPoints: ["dist/src/cli/index.js"],
  outfile: "dist/loopkube.mjs",
  define: { LOOPKUBE_BODY_WORKER: JSON.stringify(`./${WORKER}`) },
});
await build({
  ...common,
  entryPoints: ["dist/src/apiserver/http/_bodyworker.js"],
  outfile: `dist/${WORKER}`,
});
