/**
 * Captures the request bodies the real kubectl sends for {@link COMMANDS} and writes them as
 * fixtures: `fixtures/<binary>/<command>.json` for every binary that sent protobuf (the body in
 * base64 plus kubectl's own `--dry-run=client -o json` rendering of the same object), and
 * `fixtures/encodings.json`, which records the Content-Type each binary used for each command.
 *
 * Run by hand when a new kubectl appears: `node --import tsx src/apiserver/protobuf/_testing/capture.ts`.
 * Nothing here runs in the test suite.
 *
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { argvOf, type CapturedCommand, COMMANDS } from "./commands.ts";
import { findKubectls, type KubectlSandbox, kubectlSandbox } from "./kubectl.ts";
import { type StubServer, startStubServer } from "./stub-server.ts";

export interface Fixture {
  kubectl: string;
  gitVersion: string;
  argv: string[];
  path: string;
  query: string;
  contentType: string;
  /** The POST body exactly as received, base64. */
  body: string;
  /** What `kubectl … --dry-run=client -o json` printed for the same command; null without one. */
  dryRunJson: unknown;
}

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures");

async function gitVersionOf(sandbox: KubectlSandbox, bin: string): Promise<string> {
  const r = await sandbox.run(bin, ["version", "--client", "-o", "json"]);
  try {
    return (JSON.parse(r.stdout) as { clientVersion: { gitVersion: string } }).clientVersion
      .gitVersion;
  } catch {
    return "unknown";
  }
}

async function captureOne(
  server: StubServer,
  sandbox: KubectlSandbox,
  bin: string,
  cmd: CapturedCommand,
): Promise<{ post?: StubServer["posts"][number]; dryRunJson?: unknown; error?: string }> {
  for (const [file, bytes] of Object.entries(cmd.files ?? {})) {
    writeFileSync(join(sandbox.dir, file), bytes);
  }
  const before = server.posts.length;
  const opts = cmd.stdin === undefined ? {} : { stdin: cmd.stdin };
  const r = await sandbox.run(bin, argvOf(cmd), opts);
  const post = server.posts[before];
  if (r.code !== 0 || !post) return { error: `exit ${r.code}: ${r.stderr.trim()}` };
  if (!post.contentType.includes("protobuf")) return { post };
  // Commands without a client-side dry run (create token) keep dryRunJson null.
  if (cmd.dryRun === false) return { post, dryRunJson: null };
  const d = await sandbox.run(bin, argvOf(cmd, ["--dry-run=client", "-o", "json"]), opts);
  if (d.code !== 0) return { post, error: `dry run exit ${d.code}: ${d.stderr.trim()}` };
  return { post, dryRunJson: JSON.parse(d.stdout) };
}

async function main(): Promise<void> {
  const server = await startStubServer();
  const sandbox = kubectlSandbox(server.url);
  const encodings: Record<string, Record<string, string>> = {};
  const bodies = new Map<string, string>();
  try {
    // The dispatcher last, so that its bodies can be matched with the versioned binaries.
    const bins = findKubectls().sort(
      (a, b) => Number(a.name === "kubectl") - Number(b.name === "kubectl"),
    );
    for (const bin of bins) {
      const gitVersion = await gitVersionOf(sandbox, bin.path);
      const row: Record<string, string> = { gitVersion };
      encodings[bin.name] = row;
      for (const cmd of COMMANDS) {
        const got = await captureOne(server, sandbox, bin.path, cmd);
        if (got.error) console.error(`${bin.name} ${cmd.name}: ${got.error}`);
        if (!got.post) {
          row[cmd.name] = "error";
          continue;
        }
        const body = got.post.body.toString("base64");
        row[cmd.name] = got.post.contentType;
        const same = [...bodies].find(([, b]) => b === body)?.[0];
        bodies.set(`${bin.name}/${cmd.name}`, body);
        // The dispatcher runs one of the versioned binaries; keep one copy of identical bodies.
        if (same && bin.name === "kubectl") row[cmd.name] += ` (same bytes as ${same})`;
        if (got.dryRunJson === undefined || bin.name === "kubectl") continue;
        const fixture: Fixture = {
          kubectl: bin.name,
          gitVersion,
          argv: argvOf(cmd),
          path: got.post.path,
          query: got.post.query,
          contentType: got.post.contentType,
          body,
          dryRunJson: got.dryRunJson,
        };
        mkdirSync(join(FIXTURES, bin.name), { recursive: true });
        writeFileSync(
          join(FIXTURES, bin.name, `${cmd.name}.json`),
          `${JSON.stringify(fixture, null, 2)}\n`,
        );
      }
      console.log(`${bin.name} (${gitVersion}) done`);
    }
    writeFileSync(join(FIXTURES, "encodings.json"), `${JSON.stringify(encodings, null, 2)}\n`);
  } finally {
    sandbox.dispose();
    await server.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
