import assert from "node:assert/strict";
import { test } from "node:test";
import type { Pod } from "kubernetes-types/core/v1.js";
import type { ContainerRole } from "./lifecycle.ts";
import { activeDeadlineAt, podGraceMs, sigkillAt, terminationTurns } from "./termination.ts";

const c = (name: string, role: ContainerRole, running = true) => ({ name, role, running });

type TurnCase = [what: string, containers: ReturnType<typeof c>[], want: Record<string, string[]>];
const turnCases: TurnCase[] = [
  [
    "app containers and regular init containers wait for nobody",
    [c("init", "init", false), c("a", "app"), c("b", "app")],
    { init: [], a: [], b: [] },
  ],
  [
    "one sidecar waits for every running app container",
    [c("proxy", "sidecar"), c("a", "app"), c("b", "app")],
    { proxy: ["a", "b"], a: [], b: [] },
  ],
  [
    "sidecars stop in reverse order, after the app containers",
    [c("s1", "sidecar"), c("init", "init", false), c("s2", "sidecar"), c("a", "app")],
    { s1: ["a", "s2"], init: [], s2: ["a"], a: [] },
  ],
  [
    "an app container that does not run holds up no sidecar",
    [c("s1", "sidecar"), c("a", "app", false), c("b", "app")],
    { s1: ["b"], a: [], b: [] },
  ],
  [
    "a later sidecar that does not run holds up no earlier one",
    [c("s1", "sidecar"), c("s2", "sidecar", false), c("s3", "sidecar"), c("a", "app", false)],
    { s1: ["s3"], s2: ["s3"], s3: [], a: [] },
  ],
  [
    "ephemeral containers neither wait nor hold up sidecars",
    [c("s1", "sidecar"), c("a", "app"), c("debug", "ephemeral")],
    { s1: ["a"], a: [], debug: [] },
  ],
];
for (const [what, containers, want] of turnCases) {
  test(`terminationTurns: ${what}`, () => {
    assert.deepEqual(Object.fromEntries(terminationTurns(containers)), want);
  });
}

type GraceCase = [what: string, pod: Pod, cap: number | undefined, want: number];
const graceCases: GraceCase[] = [
  ["defaults to 30 s", { spec: { containers: [] } }, undefined, 30_000],
  [
    "is the spec's terminationGracePeriodSeconds",
    { spec: { containers: [], terminationGracePeriodSeconds: 5 } },
    undefined,
    5000,
  ],
  [
    "is the deletion's grace period over the spec's",
    {
      metadata: { deletionGracePeriodSeconds: 2 },
      spec: { containers: [], terminationGracePeriodSeconds: 5 },
    },
    undefined,
    2000,
  ],
  ["is capped by the agent's own stop", { spec: { containers: [] } }, 1000, 1000],
];
for (const [what, pod, cap, want] of graceCases) {
  test(`podGraceMs ${what}`, () => {
    assert.equal(podGraceMs(pod, cap), want);
  });
}

type KillCase = [
  what: string,
  times: { deadline: number; killBy: number; now: number },
  waited: boolean,
  want: { deadline: number; killBy: number },
];
const killCases: KillCase[] = [
  [
    "SIGKILL comes at the deadline when time is left",
    { deadline: 5000, killBy: 5000, now: 1000 },
    true,
    { deadline: 5000, killBy: 5000 },
  ],
  [
    "a wait that used the grace period up leaves SIGTERM 2 s",
    { deadline: 5000, killBy: 5000, now: 5000 },
    true,
    { deadline: 7000, killBy: 7000 },
  ],
  [
    "a grace period cut short (killBy earlier) is not extended",
    { deadline: 5000, killBy: 3000, now: 5000 },
    true,
    { deadline: 7000, killBy: 3000 },
  ],
  [
    "without a wait, a grace period of 0 stays 0",
    { deadline: 1000, killBy: 1000, now: 1000 },
    false,
    { deadline: 1000, killBy: 1000 },
  ],
  [
    "the pod's killBy already extended by another container stays the later",
    { deadline: 5000, killBy: 8000, now: 5500 },
    true,
    { deadline: 7500, killBy: 8000 },
  ],
];
for (const [what, times, waited, want] of killCases) {
  test(`sigkillAt: ${what}`, () => {
    assert.deepEqual(sigkillAt(times, waited), want);
  });
}

type DeadlineCase = [
  what: string,
  seconds: number | undefined,
  start: string | undefined,
  want: number | undefined,
];
const START = "2026-01-01T00:00:00Z";
const deadlineCases: DeadlineCase[] = [
  ["a pod without activeDeadlineSeconds has none", undefined, START, undefined],
  ["a pod not started yet has none", 30, undefined, undefined],
  ["the deadline counts from the pod's startTime", 30, START, Date.parse(START) + 30_000],
  ["a deadline of 0 s is its start", 0, START, Date.parse(START)],
];
for (const [what, seconds, start, want] of deadlineCases) {
  test(`activeDeadlineAt: ${what}`, () => {
    const pod: Pod = {
      spec: {
        containers: [],
        ...(seconds !== undefined ? { activeDeadlineSeconds: seconds } : {}),
      },
    };
    assert.equal(activeDeadlineAt(pod, start), want);
  });
}
