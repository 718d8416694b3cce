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
//
// Two things keep the start cheap as the bundle grows:
// - Large generated JSON (the OpenAPI schemas, about a megabyte) stays out of the bundle: it is
//   written beside it and read and parsed on the first read of one of its top-level keys. In the
//   bundle, as an object literal or even as one string, V8 would read and compile it at every
//   start of every command (some 50 ms of CPU on a busy 2-core machine); JSON.parse reads it
//   faster, and only when something looks a schema up (a cluster's start does, once).
// - The output is ASCII only (non-ASCII characters of comments and regular expressions become
//   \u escapes, which mean the same there): Node decodes a module's UTF-8 source into a string,
//   and one character above 0x7f makes the whole bundle a two-byte string, decoded on a slow path.
//
// scripts/test.mjs calls `bundle` on the TypeScript sources (esbuild reads them as they are) for
// the `loopkube` processes the end-to-end tests start (test/_cli.ts): a start through tsx costs
// some 3 s of CPU, the bundle's a tenth of that.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";

const WORKER = "loopkube-bodyworker.mjs";
// The web view's page script (src/ui/app), for the browser: built here, served by src/ui/assets.ts.
const UI = "loopkube-ui.js";

/** Files beside the bundles, by the name of their source (dist/src/...) and the name they get. */
const LAZY_JSON = { "_schemas.generated.json": "loopkube-openapi.json" };

/** An object of getters, one per top-level key, over one read and JSON.parse on first use. */
const lazyJson = (outdir) => ({
  name: "lazy-json",
  setup(b) {
    b.onLoad({ filter: /\.json$/ }, ({ path }) => {
      const target = LAZY_JSON[basename(path)];
      if (target === undefined) return undefined;
      const value = JSON.parse(readFileSync(path, "utf8"));
      writeFileSync(join(outdir, target), JSON.stringify(value));
      const keys = Object.keys(value);
      const getters = keys.map(
        (k) => `  get ${JSON.stringify(k)}() { return load()[${JSON.stringify(k)}]; },`,
      );
      const contents = [
        'import { readFileSync } from "node:fs";',
        "let value;",
        `const load = () => (value ??= JSON.parse(readFileSync(new URL(${JSON.stringify(`./${target}`)}, import.meta.url), "utf8")));`,
        `export default {\n${getters.join("\n")}\n};`,
      ].join("\n");
      return { contents, loader: "js" };
    });
  },
});

const common = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  // esbuild: src/ui/assets.ts imports it only when run from the TypeScript sources.
  external: ["better-sqlite3", "esbuild"],
  charset: "ascii",
  // CommonJS dependencies (ws, commander) call require() for Node's built-ins.
  banner: {
    js: "import { createRequire as __loopkubeRequire } from 'node:module';\nconst require = __loopkubeRequire(import.meta.url);",
  },
  legalComments: "linked",
  logLevel: "warning",
};

/**
 * Writes loopkube.mjs (from `cli`), its body worker and the web view's script into `outdir`.
 * `cli` and `worker` are the CLI's and the body worker's entry modules, compiled (dist/src) or
 * TypeScript (src).
 */
export async function bundle({ cli, worker, outdir }) {
  mkdirSync(outdir, { recursive: true });
  const plugins = [lazyJson(outdir)];
  await build({
    ...common,
    plugins,
    entryPoints: [cli],
    outfile: join(outdir, "loopkube.mjs"),
    define: {
      LOOPKUBE_BODY_WORKER: JSON.stringify(`./${WORKER}`),
      LOOPKUBE_UI_ASSET: JSON.stringify(`./${UI}`),
    },
  });
  await build({ ...common, plugins, entryPoints: [worker], outfile: join(outdir, WORKER) });

  await build({
    entryPoints: ["src/ui/app/main.ts"],
    outfile: join(outdir, UI),
    bundle: true,
    format: "iife",
    platform: "browser",
    target: "es2022",
    minify: true,
    charset: "ascii",
    logLevel: "warning",
  });

  // esbuild escapes strings but keeps comments and regular expression literals as written.
  for (const file of [join(outdir, "loopkube.mjs"), join(outdir, WORKER)]) {
    const out = readFileSync(file, "utf8");
    const ascii = out.replace(
      /[^\x00-\x7f]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
    );
    if (ascii !== out) writeFileSync(file, ascii);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await bundle({
    cli: "dist/src/cli/index.js",
    worker: "dist/src/apiserver/http/_bodyworker.js",
    outdir: "dist",
  });
}
