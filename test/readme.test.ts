/**
 * The READMEs cannot drift (as CoreDNS's test/readme_test.go runs every README's Corefile): every
 * command line in the ```sh blocks of README.md and examples/* /README.md is checked for real —
 *
 * - `loopkube …` / `node bin/loopkube.js …` parses with the CLI's own commander definitions
 *   (the command and every flag exist; `-f` paths exist), without running it;
 * - `npm …` names a script of package.json (whose command is checked in turn);
 * - `node <file> …` names a file that exists and parses;
 * - `kubectl …` and `dig …` run against a cluster started here with every example applied (pods
 *   simulated, probes dropped, so every name a README digs for resolves): exit 0, and `dig
 *   +short` must answer;
 * - `curl` URLs parse and point at loopback.
 *
 * A program the test does not know fails it, so a new kind of command gets a check. Placeholders
 * (`<dns-port>`, `<dns-metrics-port>`, `<… IP>`) are filled in; an unknown one fails. README.md's
 * command list must name exactly the CLI's commands, its `up` options sentence exactly `up`'s
 * options, and its library example must be test/fixtures/readme-library.ts (so `npm test`'s tsc
 * type-checks it) and pass when run.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join, relative } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Command } from "commander";
import { waitFor } from "../src/_testing/index.ts";
import type { KubeObject } from "../src/api/types.ts";
import { readClusterConfig } from "../src/cli/_config.ts";
import { buildProgram } from "../src/cli/index.ts";
import { readManifests } from "../src/cluster/index.ts";
import { type Cluster, startCluster } from "../src/index.ts";
import { KUBECTL, NO_KUBECTL, type RunResult, run } from "./_kubectl.ts";

const ROOT = join(import.meta.dirname, "..");

const DIG = (process.env.PATH ?? "")
  .split(delimiter)
  .map((dir) => join(dir, "dig"))
  .find((p) => p.startsWith("/") && existsSync(p));
const NO_DIG = DIG ? false : "dig is not installed (bind9-dnsutils)";

// ---- reading the READMEs ------------------------------------------------------------------

interface Block {
  file: string;
  lang: string;
  /** Line number of the opening fence. */
  line: number;
  lines: string[];
}

function readmes(): string[] {
  const examples = readdirSync(join(ROOT, "examples"))
    .map((d) => `examples/${d}/README.md`)
    .filter((f) => existsSync(join(ROOT, f)));
  return ["README.md", ...examples.sort()];
}

function codeBlocks(file: string): Block[] {
  const out: Block[] = [];
  let open: Block | undefined;
  let fence = "";
  readFileSync(join(ROOT, file), "utf8")
    .split("\n")
    .forEach((text, i) => {
      const m = /^(```|~~~)\s*(\S*)/.exec(text);
      if (!open && m) {
        fence = m[1] ?? "";
        open = { file, lang: m[2] ?? "", line: i + 1, lines: [] };
      } else if (open && text.startsWith(fence)) {
        out.push(open);
        open = undefined;
      } else open?.lines.push(text);
    });
  assert.equal(open, undefined, `${file}: a code block is never closed`);
  return out;
}

/** Splits a shell line into commands (`&&`, `;`) of words; quotes group, `#` starts a comment. */
function shellCommands(line: string): string[][] {
  const commands: string[][] = [[]];
  let word: string | undefined;
  let quote: string | undefined;
  const flush = () => {
    if (word !== undefined) commands.at(-1)?.push(word);
    word = undefined;
  };
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] ?? "";
    if (quote) {
      if (ch === quote) quote = undefined;
      else word += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      word ??= "";
    } else if (ch === "#" && word === undefined) {
      break;
    } else if (/\s/.test(ch)) {
      flush();
    } else if (line.startsWith("&&", i) || ch === ";") {
      flush();
      commands.push([]);
      if (ch === "&") i++;
    } else if ("|<>&$`\\".includes(ch)) {
      throw new Error(`shell syntax ${JSON.stringify(ch)} is beyond what this test checks`);
    } else {
      word = (word ?? "") + ch;
    }
  }
  if (quote) throw new Error("a quote is never closed");
  flush();
  return commands.filter((c) => c.length > 0);
}

// ---- checking one command -----------------------------------------------------------------

interface Context {
  cluster: Cluster;
  skip(reason: string): void;
}

function fillPlaceholders(line: string, c: Cluster): string {
  const filled = line
    .replaceAll("<dns-port>", String(c.dnsAddress.port))
    .replace("<dns-metrics-port>", () => new URL(c.dnsMetricsUrl).port)
    .replace(/<[^<>]*\bIP>/g, "127.0.0.1");
  const left = /<[^<>]+>/.exec(filled);
  if (left) throw new Error(`unknown placeholder ${left[0]}: teach test/readme.test.ts its value`);
  return filled;
}

const PACKAGE = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  scripts: Record<string, string>;
};

async function checkCommand(argv: string[], ctx: Context): Promise<void> {
  const [program, ...args] = argv;
  switch (program) {
    case "npm":
      return checkNpm(args, ctx);
    case "loopkube":
      return checkLoopkube(args);
    case "node":
      return checkNode(args);
    case "kubectl":
      return checkKubectl(args, ctx);
    case "dig":
      return checkDig(args, ctx);
    case "curl":
      return checkCurl(args);
    default:
      throw new Error(`${program} is a program this test cannot check: teach test/readme.test.ts`);
  }
}

async function checkNpm(args: string[], ctx: Context): Promise<void> {
  const [verb, name] = args;
  if (verb === "ci" || verb === "install") {
    assert.ok(existsSync(join(ROOT, "package-lock.json")), "npm ci needs package-lock.json");
    return;
  }
  const script = verb === "run" ? name : verb;
  assert.ok(
    verb === "run" || verb === "test" || verb === "start",
    `npm ${verb}: not a command this test knows`,
  );
  const body = PACKAGE.scripts[script ?? ""];
  assert.ok(body, `npm ${args.join(" ")}: package.json has no script "${script}"`);
  // A script that starts loopkube is itself checked, so `npm start` cannot drift either.
  if (body.startsWith("node bin/loopkube.js ")) {
    for (const command of shellCommands(body)) await checkCommand(command, ctx);
  }
}

/** Parses `args` with the real CLI definitions, every action replaced by a recorder. */
function parseLoopkube(args: string[]): {
  command: string;
  options: Record<string, unknown>;
} {
  const errors: string[] = [];
  const io: NonNullable<Parameters<typeof buildProgram>[0]> = {
    out: () => {},
    raw: () => {},
    err: (line) => errors.push(line),
    setExitCode: () => {},
  };
  const program = buildProgram(io);
  let parsed: { command: string; options: Record<string, unknown> } | undefined;
  for (const sub of program.commands as Command[]) {
    sub.action(() => {
      parsed = { command: sub.name(), options: sub.opts() };
    });
  }
  try {
    program.parse(["node", "loopkube", ...args]);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "commander.helpDisplayed" || code === "commander.version") {
      return { command: "help", options: {} };
    }
    throw new Error(`loopkube ${args.join(" ")}: ${errors.join(" ") || String(err)}`);
  }
  if (!parsed) throw new Error(`loopkube ${args.join(" ")}: no command ran`);
  return parsed;
}

function checkLoopkube(args: string[]): void {
  const { options } = parseLoopkube(args);
  for (const path of (options.filename as string[] | undefined) ?? []) {
    assert.ok(existsSync(join(ROOT, path)), `loopkube -f ${path}: no such file or folder`);
  }
  // A config file is read as `up` reads it (strictly), and the manifests it names exist.
  if (typeof options.config === "string") {
    const config = readClusterConfig(join(ROOT, options.config));
    for (const path of config.filename ?? []) {
      assert.ok(existsSync(path), `${options.config}: manifests: no such file or folder ${path}`);
    }
  }
}

async function checkNode(args: string[]): Promise<void> {
  const [file, ...rest] = args;
  if (file === "bin/loopkube.js") return checkLoopkube(rest);
  assert.ok(file && !file.startsWith("-"), `node ${args.join(" ")}: this test expects a file`);
  assert.ok(existsSync(join(ROOT, file)), `node ${file}: no such file`);
  const r = await run(process.execPath, ["--check", join(ROOT, file)]);
  assert.equal(r.code, 0, `node --check ${file}: ${r.stderr}`);
}

function expectOk(r: RunResult, what: string): void {
  assert.equal(r.code, 0, `${what} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
}

async function checkKubectl(args: string[], ctx: Context): Promise<void> {
  const kubectl = KUBECTL;
  if (!kubectl) return ctx.skip(String(NO_KUBECTL));
  const env = { ...process.env, KUBECONFIG: ctx.cluster.kubeconfigPath };
  // A line may name a pod the line before deleted: its StatefulSet brings it back in a moment.
  const r = await waitFor(
    async () => {
      const out = await run(kubectl, args, { env, timeoutMs: 20_000 });
      return !/\(NotFound\)/.test(out.stderr) && out;
    },
    { what: `kubectl ${args.join(" ")} to find what it names`, intervalMs: 200 },
  );
  // Simulated containers write no log: the server answering so for the named pod and container
  // is as far as `kubectl logs` can get here.
  if (
    args[0] === "logs" &&
    /\(BadRequest\): container "[^"]+" in pod "[^"]+" is waiting/.test(r.stderr)
  ) {
    return;
  }
  expectOk(r, `kubectl ${args.join(" ")}`);
}

async function checkDig(args: string[], ctx: Context): Promise<void> {
  if (!DIG) return ctx.skip(String(NO_DIG));
  const r = await run(DIG, [...args, "+time=2", "+tries=2"], { timeoutMs: 20_000 });
  expectOk(r, `dig ${args.join(" ")}`);
  if (args.includes("+short")) {
    assert.notEqual(r.stdout.trim(), "", `dig ${args.join(" ")}: no answer`);
  }
}

function checkCurl(args: string[]): void {
  const url = new URL(args.at(-1) ?? "");
  assert.match(url.hostname, /^127\./, `curl ${url}: not a loopback address`);
}

// ---- the tests --------------------------------------------------------------------------

/** Every example's objects, with probes dropped so simulated pods become ready. */
function exampleObjects(): KubeObject[] {
  // The example folders (examples/cluster-config.yaml is a config file, not a manifest).
  const folders = readdirSync(join(ROOT, "examples"), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => join(ROOT, "examples", d.name));
  return readManifests(folders).map(({ object }) => {
    const spec = (object.spec as { template?: { spec?: { containers?: object[] } } })?.template
      ?.spec;
    if (spec?.containers) {
      spec.containers = spec.containers.map((container) => {
        const { readinessProbe, livenessProbe, startupProbe, ...rest } = container as Record<
          string,
          unknown
        >;
        return rest;
      });
    }
    return object;
  });
}

describe("the README command blocks", () => {
  let cluster: Cluster;
  before(async () => {
    cluster = await startCluster({
      ephemeral: true,
      apiPort: 0,
      dnsPort: 0,
      runtime: "simulated",
      updateKubeconfig: false,
    });
    await cluster.waitReady(await cluster.apply(exampleObjects()), { timeoutMs: 60_000 });
  });
  after(async () => {
    await cluster?.stop();
  });

  for (const file of readmes()) {
    for (const block of codeBlocks(file).filter((b) => b.lang === "sh")) {
      block.lines.forEach((text, i) => {
        if (!text.trim() || text.trim().startsWith("#")) return;
        test(`${file}:${block.line + i + 1} \`${text.split(/\s+#/)[0]?.trim()}\` works`, async (t) => {
          let skipped: string | undefined;
          const ctx: Context = {
            cluster,
            skip: (reason) => {
              skipped = reason;
            },
          };
          for (const command of shellCommands(fillPlaceholders(text, cluster))) {
            await checkCommand(command, ctx);
          }
          if (skipped) t.skip(skipped);
        });
      });
    }
  }
});

describe("README.md", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const program = buildProgram();

  test("lists exactly the commands of the CLI", () => {
    const listed = codeBlocks("README.md")
      .flatMap((b) => b.lines)
      .map((l) => /^loopkube (\S+)/.exec(l)?.[1])
      .filter((x): x is string => x !== undefined);
    const actual = (program.commands as Command[]).map((c) => c.name());
    assert.deepEqual([...new Set(listed)].sort(), [...actual].sort());
  });

  test("names exactly the options of `loopkube up`", () => {
    const start = readme.indexOf("`loopkube up --help` lists the options:");
    assert.notEqual(start, -1, "the sentence listing up's options is gone");
    const sentence = readme.slice(start, readme.indexOf("\n\n", start));
    const named = [...sentence.matchAll(/`[^`]*?(--[a-z][a-z-]*)[^`]*`/g)]
      .map((m) => m[1] ?? "")
      .filter((f) => f !== "--help");
    const up = (program.commands as Command[]).find((c) => c.name() === "up");
    const actual = (up?.options ?? []).map((o) => o.long ?? "");
    assert.deepEqual([...new Set(named)].sort(), [...actual].sort());
  });

  test("names every flag of every command in its Commands section", () => {
    const section = readme.slice(
      readme.indexOf("## Commands"),
      readme.indexOf("\n## ", readme.indexOf("## Commands") + 1),
    );
    const missing = (program.commands as Command[]).flatMap((c) =>
      c.options
        .map((o) => o.long ?? "")
        .filter((flag) => !new RegExp(`${flag}(?![a-z-])`).test(section))
        .map((flag) => `${c.name()} ${flag}`),
    );
    assert.deepEqual(missing, []);
  });

  test("shows examples/cluster-config.yaml as it is", () => {
    const blocks = codeBlocks("README.md").filter((b) => b.lang === "yaml");
    const file = readFileSync(join(ROOT, "examples", "cluster-config.yaml"), "utf8");
    assert.deepEqual(
      blocks.map((b) => `${b.lines.join("\n")}\n`),
      [file],
    );
  });

  describe("the library example", () => {
    const blocks = codeBlocks("README.md").filter((b) => b.lang === "ts");
    let dir: string;
    let file: string;
    before(async () => {
      assert.equal(blocks.length, 1, "README.md has one TypeScript example");
      dir = mkdtempSync(join(tmpdir(), "loopkube-readme-"));
      symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
      await writeFile(join(dir, "package.json"), '{ "type": "module" }\n');
      // "loopkube" is this repository's source; its clusters get ranges of their own, so the
      // example's pods never meet another test file's.
      const src = relative(dir, join(ROOT, "src", "index.ts"));
      await writeFile(
        join(dir, "loopkube.ts"),
        [
          `import { type ClusterOptions, startCluster as start } from ${JSON.stringify(src)};`,
          `export * from ${JSON.stringify(src)};`,
          "export const startCluster = (options: ClusterOptions = {}) =>",
          "  start({ ...options, updateKubeconfig: false });",
          "",
        ].join("\n"),
      );
      file = join(dir, "example.test.ts");
      const code = blocks[0]?.lines.join("\n") ?? "";
      assert.match(code, /from "loopkube"/);
      await writeFile(file, code.replace(/from "loopkube"/g, 'from "./loopkube.ts"'));
    });
    after(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    test("is test/fixtures/readme-library.ts, which npm test's tsc type-checks", () => {
      // The fixture imports this repository's source where the README imports the package.
      const fixture = readFileSync(join(ROOT, "test", "fixtures", "readme-library.ts"), "utf8");
      const code = `${blocks[0]?.lines.join("\n") ?? ""}\n`;
      assert.equal(code.replace(/from "loopkube"/g, 'from "../../src/index.ts"'), fixture);
    });

    test("passes when run", async () => {
      // Run from the repository root (as the README says), outside this test runner.
      const env = { ...process.env };
      delete env.NODE_TEST_CONTEXT;
      const r = await new Promise<RunResult>((resolve) => {
        execFile(
          process.execPath,
          ["--import", "tsx", file],
          { cwd: ROOT, env, timeout: 90_000 },
          (err, stdout, stderr) =>
            resolve({
              code: err ? Number((err as { code?: unknown }).code ?? 1) : 0,
              stdout,
              stderr,
            }),
        );
      });
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      // node:test reports in TAP when stdout is not a terminal up to Node 22, in spec from 23 on.
      assert.match(r.stdout, /^(# |ℹ )pass 1$/m);
    });
  });
});

describe("the README checks", () => {
  const noCluster: Context = {
    cluster: { dnsAddress: { host: "127.0.0.1", port: 5353 } } as Cluster,
    skip: () => assert.fail("nothing here needs a cluster"),
  };
  const rejected: Array<[string, () => unknown, RegExp]> = [
    ["an unknown loopkube flag", () => parseLoopkube(["up", "--no-such-flag"]), /unknown option/],
    ["an unknown loopkube command", () => parseLoopkube(["upp"]), /unknown command/],
    ["a missing npm script", () => checkNpm(["run", "no-such-script"], noCluster), /no script/],
    ["a missing -f path", () => checkLoopkube(["up", "-f", "examples/nowhere"]), /no such file/],
    ["a missing node file", () => checkNode(["examples/nowhere.js"]), /no such file/],
    ["an unknown program", () => checkCommand(["helm", "install"], noCluster), /cannot check/],
    ["an unknown placeholder", () => fillPlaceholders("dig <zone>", noCluster.cluster), /<zone>/],
    ["a pipe", () => shellCommands("kubectl get pods | grep web"), /beyond/],
  ];
  for (const [what, check, message] of rejected) {
    test(`reject ${what}`, async () => {
      await assert.rejects(async () => check(), message);
    });
  }

  test("split a line into commands and words as the shell does", () => {
    assert.deepEqual(shellCommands("npm ci && npm start    # the quickstart"), [
      ["npm", "ci"],
      ["npm", "start"],
    ]);
    assert.deepEqual(shellCommands(`client.js send b "hello  there" 'x#y'`), [
      ["client.js", "send", "b", "hello  there", "x#y"],
    ]);
    assert.deepEqual(shellCommands("# only a comment"), []);
  });
});
