import assert from "node:assert/strict";
import { test } from "node:test";
import { type BackoffState, DEFAULT_BACKOFF, FRESH_BACKOFF } from "./backoff.ts";
import {
  type ContainerFacts,
  type ContainerRole,
  type LifecycleAction,
  type LifecycleEvent,
  type LifecycleStep,
  type PodFacts,
  restarts,
  step,
} from "./lifecycle.ts";

const pod = (more: Partial<PodFacts> = {}): PodFacts => ({
  name: "web",
  namespace: "default",
  uid: "u1",
  restartPolicy: "Always",
  graceMs: 30_000,
  stopping: false,
  appsDone: false,
  ...more,
});
const container = (more: Partial<ContainerFacts> = {}): ContainerFacts => ({
  name: "app",
  role: "app",
  changed: false,
  backoff: FRESH_BACKOFF,
  state: { terminated: { exitCode: 1 } },
  running: false,
  ...more,
});
const NOW = 1_000_000;
const run = (p: PodFacts, c: ContainerFacts, e: LifecycleEvent) =>
  step(p, c, e, NOW, DEFAULT_BACKOFF);

test("restarts follows the role and the pod's restart policy", () => {
  const cases: [ContainerRole, string, number, boolean][] = [
    ["app", "Always", 0, true],
    ["app", "Always", 1, true],
    ["app", "OnFailure", 0, false],
    ["app", "OnFailure", 1, true],
    ["app", "Never", 1, false],
    ["init", "Always", 0, false],
    ["init", "Always", 1, true],
    ["init", "OnFailure", 1, true],
    ["init", "Never", 1, false],
    ["sidecar", "Never", 0, true],
    ["sidecar", "OnFailure", 0, true],
    ["ephemeral", "Always", 1, false],
  ];
  for (const [role, policy, code, want] of cases)
    assert.equal(restarts(role, policy, code), want, `${role} ${policy} exit ${code}`);
});

test("step after a run: finish, restart at once, or back off in CrashLoopBackOff", () => {
  const armed: BackoffState = { armed: true, delay: 20_000, lastUpdate: NOW - 5_000 };
  const crash = (wait: string, at: number): LifecycleAction[] => [
    {
      type: "wait",
      reason: "CrashLoopBackOff",
      message: `back-off ${wait} restarting failed container=app pod=web_default(u1)`,
    },
    { type: "writeStatus" },
    {
      type: "event",
      eventType: "Warning",
      reason: "BackOff",
      message: "Back-off restarting failed container app in pod web_default(u1)",
    },
    { type: "restart", at },
  ];
  const cases: [string, PodFacts, ContainerFacts, LifecycleEvent, LifecycleAction[]][] = [
    [
      "the pod is stopping: done, successful by the exit code",
      pod({ stopping: true }),
      container(),
      { type: "exited", exitCode: 0 },
      [{ type: "finish", succeeded: true }],
    ],
    [
      "a start refused while stopping is no success",
      pod({ stopping: true }),
      container(),
      { type: "startRefused" },
      [{ type: "finish", succeeded: false }],
    ],
    [
      "a sidecar ends with the app containers",
      pod({ appsDone: true }),
      container({ role: "sidecar" }),
      { type: "exited", exitCode: 137 },
      [{ type: "finish", succeeded: true }],
    ],
    [
      "a refused start is tried again after the initial back-off (at least 1 s)",
      pod(),
      container(),
      { type: "startRefused" },
      [{ type: "restart", at: NOW + 10_000 }],
    ],
    [
      "a refused start is tried again when the image step asked",
      pod(),
      container(),
      { type: "startRefused", retryInMs: 1000 },
      [{ type: "restart", at: NOW + 1000 }],
    ],
    [
      "a container killed for a new spec starts again at once, whatever the policy",
      pod({ restartPolicy: "Never" }),
      container({ changed: true, backoff: armed }),
      { type: "exited", exitCode: 143 },
      [{ type: "restart", at: NOW }],
    ],
    [
      "Never: a failed app container is done",
      pod({ restartPolicy: "Never" }),
      container(),
      { type: "exited", exitCode: 1 },
      [{ type: "finish", succeeded: false }],
    ],
    [
      "OnFailure: a successful app container is done",
      pod({ restartPolicy: "OnFailure" }),
      container(),
      { type: "exited", exitCode: 0 },
      [{ type: "finish", succeeded: true }],
    ],
    [
      "the first restart is at once",
      pod(),
      container(),
      { type: "exited", exitCode: 1 },
      [{ type: "restart", at: NOW }],
    ],
    [
      "a later one waits its back-off, waiting in CrashLoopBackOff",
      pod(),
      container({ backoff: armed }),
      { type: "exited", exitCode: 1 },
      crash("20s", NOW + 20_000),
    ],
    [
      "a completed container under Always backs off too",
      pod(),
      container({ backoff: { armed: true, delay: 300_000, lastUpdate: NOW } }),
      { type: "exited", exitCode: 0 },
      crash("5m0s", NOW + 300_000),
    ],
    [
      "ten quiet minutes reset the back-off",
      pod(),
      container({ backoff: { armed: true, delay: 300_000, lastUpdate: NOW - 600_001 } }),
      { type: "exited", exitCode: 1 },
      [{ type: "restart", at: NOW }],
    ],
    [
      "a failed regular init container restarts under OnFailure",
      pod({ restartPolicy: "OnFailure" }),
      container({ role: "init" }),
      { type: "exited", exitCode: 2 },
      [{ type: "restart", at: NOW }],
    ],
    [
      "an ephemeral container never restarts",
      pod(),
      container({ role: "ephemeral" }),
      { type: "exited", exitCode: 1 },
      [{ type: "finish", succeeded: false }],
    ],
  ];
  for (const [what, p, c, e, want] of cases) assert.deepEqual(run(p, c, e).actions, want, what);
});

test("step keeps the back-off and clears a spec change", () => {
  const first = run(pod(), container(), { type: "exited", exitCode: 1 });
  assert.deepEqual(first.backoff, { armed: true, delay: 10_000, lastUpdate: NOW });
  const second = step(
    pod(),
    container({ backoff: first.backoff! }),
    { type: "exited", exitCode: 1 },
    NOW + 1000,
    DEFAULT_BACKOFF,
  );
  assert.deepEqual(second.backoff, { armed: true, delay: 20_000, lastUpdate: NOW + 11_000 });
  const changed = run(pod(), container({ changed: true }), { type: "exited", exitCode: 0 });
  assert.equal(changed.changed, false);
  assert.equal(changed.backoff, undefined);
});

test("step after a probe: readiness sets ready, startup starts the others, failures kill", () => {
  const live = container({ running: true, state: { running: {} } });
  const kill = (deadline: number, kind: string): LifecycleAction[] => [
    { type: "stopProbes", kinds: "all" },
    {
      type: "kill",
      deadline,
      message: `Container app failed ${kind} probe, will be restarted`,
    },
  ];
  const cases: [string, PodFacts, ContainerFacts, LifecycleEvent, LifecycleAction[]][] = [
    [
      "readiness passes",
      pod(),
      live,
      { type: "probe", kind: "readiness", ok: true },
      [{ type: "ready", ready: true }, { type: "writeStatus" }],
    ],
    [
      "readiness fails: not ready, not killed",
      pod(),
      live,
      { type: "probe", kind: "readiness", ok: false },
      [{ type: "ready", ready: false }, { type: "writeStatus" }],
    ],
    [
      "startup passes",
      pod(),
      live,
      { type: "probe", kind: "startup", ok: true },
      [
        { type: "started" },
        { type: "stopProbes", kinds: ["startup"] },
        { type: "writeStatus" },
        { type: "startProbes", kinds: ["liveness", "readiness"] },
      ],
    ],
    ["liveness passes", pod(), live, { type: "probe", kind: "liveness", ok: true }, []],
    [
      "liveness fails: killed with the pod's grace period",
      pod(),
      live,
      { type: "probe", kind: "liveness", ok: false },
      kill(NOW + 30_000, "liveness"),
    ],
    [
      "startup fails: killed with the probe's own grace period",
      pod(),
      live,
      { type: "probe", kind: "startup", ok: false, graceSeconds: 3 },
      kill(NOW + 3_000, "startup"),
    ],
    [
      "a result for a run that ended is stale",
      pod(),
      container(),
      { type: "probe", kind: "liveness", ok: false },
      [],
    ],
    [
      "a result while the pod stops is ignored",
      pod({ stopping: true }),
      live,
      { type: "probe", kind: "readiness", ok: true },
      [],
    ],
  ];
  for (const [what, p, c, e, want] of cases) assert.deepEqual(run(p, c, e).actions, want, what);
});

test("step after a failed postStart hook or a spec change kills the run", () => {
  const live = container({ running: true, state: { running: {} } });
  const cases: [string, PodFacts, ContainerFacts, LifecycleEvent, LifecycleStep][] = [
    [
      "postStart failed",
      pod(),
      live,
      { type: "postStartFailed", message: "hook said no" },
      {
        actions: [
          {
            type: "event",
            eventType: "Warning",
            reason: "FailedPostStartHook",
            message: "hook said no",
          },
          { type: "kill", deadline: NOW + 30_000, message: "FailedPostStartHook" },
        ],
      },
    ],
    [
      "a new image for a running app container",
      pod(),
      live,
      { type: "specChanged" },
      {
        actions: [
          {
            type: "kill",
            deadline: NOW + 30_000,
            message: "Container app definition changed, will be restarted",
          },
        ],
        changed: true,
      },
    ],
    [
      "a new image for a running sidecar",
      pod({ graceMs: 1000 }),
      container({ ...live, role: "sidecar" }),
      { type: "specChanged" },
      {
        actions: [
          {
            type: "kill",
            deadline: NOW + 1000,
            message: "Container app definition changed, will be restarted",
          },
        ],
        changed: true,
      },
    ],
    [
      "a regular init container is not run again",
      pod(),
      container({ ...live, role: "init" }),
      { type: "specChanged" },
      { actions: [] },
    ],
    [
      "a container not running takes the new spec at its next start",
      pod(),
      container(),
      { type: "specChanged" },
      { actions: [] },
    ],
  ];
  for (const [what, p, c, e, want] of cases) assert.deepEqual(run(p, c, e), want, what);
});
