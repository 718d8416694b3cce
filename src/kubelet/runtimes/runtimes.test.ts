import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { Container, Pod } from "kubernetes-types/core/v1.js";
import { openContainerLog } from "../logfile.ts";
import {
  type ContainerStart,
  NO_COMMAND_MESSAGE,
  NO_SANDBOX_MESSAGE,
  type RuntimeName,
  runtimeFor,
} from "./index.ts";

const root = mkdtempSync(join(tmpdir(), "loopkube-runtimes-"));
after(() => rmSync(root, { recursive: true, force: true }));

const deps = { workingDir: root, simulatedDelayMs: 0, oci: { clusterDns: "", clusterDomain: "" } };

test("each runtime says what differs about it as properties, not as its name", () => {
  const cases: [RuntimeName, Record<string, unknown>][] = [
    [
      "process",
      {
        runsPrograms: true,
        pullsImages: false,
        envBase: undefined,
        withoutSandbox: NO_SANDBOX_MESSAGE,
      },
    ],
    ["oci", { runsPrograms: true, pullsImages: true, envBase: {}, withoutSandbox: undefined }],
    [
      "simulated",
      { runsPrograms: false, pullsImages: false, envBase: undefined, withoutSandbox: undefined },
    ],
  ];
  for (const [name, want] of cases) {
    const r = runtimeFor(name, deps);
    assert.equal(r.name, name);
    const got = Object.fromEntries(Object.keys(want).map((k) => [k, r[k as keyof typeof r]]));
    assert.deepEqual(got, want, name);
  }
});

test("refuse names what a container lacks for its runtime", () => {
  const withCommand: Container = { name: "a", command: ["sleep", "1"] };
  const without: Container = { name: "a", image: "busybox" };
  const cases: [string, RuntimeName, object, Container, string | undefined][] = [
    ["process, a command", "process", {}, withCommand, undefined],
    ["process, no command", "process", {}, without, NO_COMMAND_MESSAGE],
    [
      "process, no command, images not run here",
      "process",
      { imagesNotRun: "no crun" },
      without,
      `${NO_COMMAND_MESSAGE} (images are not run here: no crun)`,
    ],
    ["oci, available", "oci", {}, without, undefined],
    [
      "oci, unavailable",
      "oci",
      { oci: { ...deps.oci, unavailable: "install crun" } },
      without,
      "install crun",
    ],
    ["simulated, no command", "simulated", {}, without, undefined],
  ];
  for (const [what, name, extra, container, want] of cases) {
    assert.equal(runtimeFor(name, { ...deps, ...extra }).refuse(container), want, what);
  }
});

let n = 0;
function startOf(pod: Pod, container: Container, more: Partial<ContainerStart> = {}) {
  const dir = join(root, `c${n++}`);
  const path = join(dir, "0.log");
  const start: ContainerStart = {
    pod,
    container,
    runsToCompletion: false,
    env: {},
    volumes: new Map(),
    podDir: dir,
    podIP: "127.0.0.1",
    netnsPath: undefined,
    image: undefined,
    pidNamespacePath: undefined,
    wrap: () => undefined,
    openLog: () => openContainerLog(path, {}),
    stopping: () => false,
    sleep: async () => {},
    onSkip: () => {},
    ...more,
  };
  return { start, log: () => readFileSync(path, "utf8") };
}

test("the simulated runtime completes regular init containers and Job pods' containers, and runs the rest until killed", async () => {
  const sim = runtimeFor("simulated", deps);
  const job: Pod = {
    metadata: {
      ownerReferences: [
        { apiVersion: "batch/v1", kind: "Job", name: "j", uid: "u", controller: true },
      ],
    },
  };
  const c: Container = { name: "c" };
  const cases: [string, Pod, boolean][] = [
    ["a regular init container", {}, true],
    ["a Job's pod's container", job, false],
  ];
  for (const [what, pod, init] of cases) {
    const h = await sim.start(startOf(pod, c, { runsToCompletion: init }).start);
    assert.deepEqual(await h?.exited, { exitCode: 0 }, what);
  }
  const h = await sim.start(startOf({}, c).start);
  assert.equal(h?.pid, undefined);
  const raced = await Promise.race([
    h?.exited,
    new Promise((r) => setImmediate(() => r("running"))),
  ]);
  assert.equal(raced, "running");
  h?.kill("SIGTERM");
  assert.deepEqual(await h?.exited, { exitCode: 143, signal: "SIGTERM" });
});

test("the simulated runtime starts nothing when the pod began stopping during its start delay", async () => {
  const sim = runtimeFor("simulated", { ...deps, simulatedDelayMs: 50 });
  let slept = 0;
  const { start } = startOf(
    {},
    { name: "c" },
    {
      sleep: async (ms) => {
        slept = ms;
      },
      stopping: () => slept > 0,
    },
  );
  assert.equal(await sim.start(start), undefined);
  assert.equal(slept, 50);
});

test("the process runtime runs the command with $(VAR) expanded and logs its output", async () => {
  const proc = runtimeFor("process", deps);
  const { start, log } = startOf(
    {},
    { name: "c", command: ["sh", "-c"], args: ["echo hello $(WHO); exit 3"] },
    { env: { WHO: "pod", PATH: process.env.PATH ?? "" } },
  );
  const h = await proc.start(start);
  assert.equal((await h?.exited)?.exitCode, 3);
  assert.match(log(), /stdout F hello pod\n/);
});

test("the process runtime ends a container signalled the moment it starts (a pod deleted as it starts)", async () => {
  const proc = runtimeFor("process", deps);
  // A SIGTERM within the first milliseconds used to reach the supervisor before the program had
  // started; the program then ran on until the grace period's SIGKILL (about 1 in 7 here).
  for (let i = 0; i < 40; i++) {
    const { start } = startOf(
      {},
      { name: "c", command: ["sleep", "3600"] },
      { env: { PATH: process.env.PATH ?? "" } },
    );
    const h = await proc.start(start);
    await new Promise((r) => setTimeout(r, (i % 8) * 0.5));
    h?.kill("SIGTERM");
    const ended = await Promise.race([
      h?.exited.then((e) => e.signal ?? `exit ${e.exitCode}`),
      new Promise((r) => setTimeout(() => r(undefined), 5000)),
    ]);
    if (ended === undefined) h?.kill("SIGKILL");
    assert.notEqual(ended, undefined, `start ${i}: still running 5 s after SIGTERM`);
  }
});

test("the process runtime points a path under a volume's mountPath at its directory without a sandbox", async () => {
  const proc = runtimeFor("process", deps);
  const cases: [string, string[] | undefined, string][] = [
    ["no sandbox", undefined, join(root, "vol", "file")],
    ["a sandbox", [], "/data/file"],
  ];
  for (const [what, wrap, want] of cases) {
    const { start, log } = startOf(
      {},
      {
        name: "c",
        command: ["sh", "-c", 'echo "$0"', "/data/file"],
        volumeMounts: [{ name: "v", mountPath: "/data" }],
      },
      {
        env: { PATH: process.env.PATH ?? "" },
        volumes: new Map([["v", join(root, "vol")]]),
        wrap: () => wrap,
      },
    );
    const h = await proc.start(start);
    assert.equal((await h?.exited)?.exitCode, 0, what);
    assert.match(log(), new RegExp(`stdout F ${want}\\n`), what);
  }
});

test("the process and oci runtimes close the log and start nothing once the pod is stopping", async () => {
  for (const name of ["process", "oci"] as const) {
    let closed = false;
    const { start } = startOf(
      {},
      { name: "c", command: ["true"] },
      {
        stopping: () => true,
        openLog: async () => {
          const log = await openContainerLog(join(root, `stop-${name}.log`), {});
          return {
            ...log,
            close: async () => {
              closed = true;
              await log.close();
            },
          };
        },
      },
    );
    assert.equal(await runtimeFor(name, deps).start(start), undefined, name);
    assert.ok(closed, name);
  }
});
