/**
 * The page's script, bundled at build time: `loopkube-ui.js` beside the CLI bundle (whose build
 * defines `LOOPKUBE_UI_ASSET`, scripts/bundle.mjs) or at `dist/` of the per-module build. Run
 * from the TypeScript sources (tests, benchmarks), it is bundled once in memory with esbuild, a
 * development dependency. Nothing is fetched from elsewhere: the page works offline.
 *
 * @module
 */
import { readFile } from "node:fs/promises";

declare const LOOPKUBE_UI_ASSET: string | undefined;

let script: Promise<string> | undefined;

export function pageScript(): Promise<string> {
  script ??= load();
  return script;
}

async function load(): Promise<string> {
  if (typeof LOOPKUBE_UI_ASSET === "string") {
    return readFile(new URL(LOOPKUBE_UI_ASSET, import.meta.url), "utf8");
  }
  if (!import.meta.url.endsWith(".ts")) {
    return readFile(new URL("../../loopkube-ui.js", import.meta.url), "utf8");
  }
  const esbuild = await import("esbuild");
  const out = await esbuild.build({
    entryPoints: [new URL("./app/main.ts", import.meta.url).pathname],
    bundle: true,
    write: false,
    format: "iife",
    target: "es2022",
    minify: true,
    charset: "ascii",
    logLevel: "silent",
  });
  return out.outputFiles[0]?.text ?? "";
}

/** The page: a shell that loads the script; styles live in the script's CSS string. */
export function pageHtml(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>loopkube — services</title>
</head>
<body>
<noscript>The loopkube web view needs JavaScript.</noscript>
<script src="app.js"></script>
</body>
</html>
`;
}
