import assert from "node:assert/strict";
import { test } from "node:test";
import type { ContainerStatus, Pod, PodCondition } from "kubernetes-types/core/v1.js";
import {
  type ContainerView,
  notCreatedYet,
  type PodView,
  podConditions,
  podPhase,
  podStatus,
} from "./status.ts";

const running: ContainerStatus = {
  name: "a",
  ready: true,
  restartCount: 0,
  image: "",
  imageID: "",
  state: { running: {} },
};
const ok: ContainerStatus = { ...running, state: { terminated: { exitCode: 0 } } };
const failed: ContainerStatus = { ...running, state: { terminated: { exitCode: 1 } } };
const waiting: ContainerStatus = {
  ...running,
  state: { waiting: { reason: "ContainerCreating" } },
};
const backoff: ContainerStatus = {
  ...running,
  state: { waiting: { reason: "CrashLoopBackOff" } },
  lastState: { terminated: { exitCode: 1 } },
};

const sidecarRunning: ContainerStatus = { ...running, name: "side", started: true };
const sidecarStopped: ContainerStatus = {
  ...sidecarRunning,
  state: { terminated: { exitCode: 143 } },
};
const sidecarFirstStart: ContainerStatus = { ...waiting, name: "side" };
const sidecarRestarting: ContainerStatus = { ...backoff, name: "side" };

type Case = [what: string, main: ContainerStatus[], policy: string, init: boolean, want: string];
const cases: Case[] = [
  ["init not done", [running], "Always", false, "Pending"],
  ["all running", [running], "Always", true, "Running"],
  ["one creating", [running, waiting], "Always", true, "Pending"],
  ["crash loop", [backoff], "Always", true, "Running"],
  ["all succeeded, Never", [ok, ok], "Never", true, "Succeeded"],
  ["one failed, Never", [ok, failed], "Never", true, "Failed"],
  ["one failed, OnFailure", [failed], "OnFailure", true, "Running"],
  ["succeeded, OnFailure", [ok], "OnFailure", true, "Succeeded"],
];
for (const [what, statuses, restartPolicy, initDone, want] of cases) {
  test(`podPhase is ${want} when ${what}`, () => {
    assert.equal(podPhase(statuses, { restartPolicy, initDone }), want);
  });
}

// kube's getPhase: a running sidecar (restartable init container) counts as a running container,
// a stopped one is ignored; a pod being deleted whose containers all stopped is terminal.
type SidecarCase = [
  what: string,
  main: ContainerStatus[],
  sidecars: ContainerStatus[],
  want: string,
];
const sidecarCases: SidecarCase[] = [
  ["the app succeeded and the sidecar still runs (Never)", [ok], [sidecarRunning], "Running"],
  ["the app succeeded and the sidecar stopped (Never)", [ok], [sidecarStopped], "Succeeded"],
  ["the app failed and the sidecar still runs (Never)", [failed], [sidecarRunning], "Running"],
  ["the app failed and the sidecar stopped (Never)", [failed], [sidecarStopped], "Failed"],
  ["the sidecar restarts beside a running app", [running], [sidecarRestarting], "Running"],
  ["a sidecar has not started yet", [running], [sidecarFirstStart], "Pending"],
];
for (const [what, main, sidecars, want] of sidecarCases) {
  test(`podPhase is ${want} when ${what}`, () => {
    assert.equal(podPhase(main, { restartPolicy: "Never", initDone: true, sidecars }), want);
  });
}

test("podPhase of a pod being deleted whose containers all stopped is terminal, whatever its restart policy", () => {
  const opts = { restartPolicy: "Always", initDone: true, terminal: true };
  assert.equal(podPhase([ok, ok], opts), "Succeeded");
  assert.equal(podPhase([ok, failed], opts), "Failed");
  assert.equal(podPhase([running], opts), "Running");
  assert.equal(podPhase([ok], { ...opts, terminal: false }), "Running");
  assert.equal(podPhase([waiting], opts), "Failed", "deleted before it ever ran");
  assert.equal(podPhase([ok, waiting], opts), "Failed");
  assert.equal(podPhase([waiting], { ...opts, initDone: false }), "Failed", "deleted in init");
  assert.equal(podPhase([waiting], { ...opts, terminal: false }), "Pending");
});

test("podConditions keeps the transition time of an unchanged condition and names unready containers", () => {
  const pod = {
    status: {
      conditions: [
        { type: "Ready", status: "False", lastTransitionTime: "2020-01-01T00:00:00Z" },
        { type: "PodScheduled", status: "True", lastTransitionTime: "2019-01-01T00:00:00Z" },
      ],
    },
  };
  const c = podConditions(
    pod,
    {
      sandboxReady: true,
      initialized: true,
      pendingInit: [],
      notReady: ["web", "side"],
      phase: "Running",
    },
    "2026-01-01T00:00:00Z",
  );
  const by = Object.fromEntries(c.map((x) => [x.type, x]));
  assert.equal(by.Ready?.lastTransitionTime, "2020-01-01T00:00:00Z");
  assert.equal(by.Ready?.message, "containers with unready status: [web side]");
  assert.equal(by.ContainersReady?.reason, "ContainersNotReady");
  assert.equal(by.Initialized?.status, "True");
  assert.equal(by.PodReadyToStartContainers?.status, "True");
  assert.equal(by.PodScheduled?.lastTransitionTime, "2019-01-01T00:00:00Z");
});

const view = (
  name: string,
  state: ContainerView["state"],
  more: Partial<ContainerView> = {},
): ContainerView => ({
  spec: { name },
  state,
  lastState: {},
  ready: false,
  started: false,
  restartCount: 0,
  ...more,
});
const podView = (more: Partial<PodView> & { restartPolicy?: string }): PodView => ({
  pod: { spec: { containers: [], restartPolicy: more.restartPolicy ?? "Always" } },
  init: [],
  app: [],
  ephemeral: [],
  sandboxReady: true,
  initDone: false,
  terminal: false,
  hostIP: "127.0.0.1",
  podIP: "127.244.0.2",
  startTime: "2026-01-01T00:00:00Z",
  ...more,
});
const NOW = "2026-01-01T00:00:01Z";
const done0 = { terminated: { exitCode: 0, reason: "Completed" } };
const done1 = { terminated: { exitCode: 1, reason: "Error" } };
const up = { running: { startedAt: NOW } };
const creating = { waiting: { reason: "PodInitializing" } };

// [what, view, phase, Initialized, Initialized message, Ready]
type StatusCase = [string, PodView, string, string, string | undefined, string];
const statusCases: StatusCase[] = [
  [
    "the first init container runs",
    podView({ init: [view("i1", up), view("i2", creating)], app: [view("app", creating)] }),
    "Pending",
    "False",
    "containers with incomplete status: [i1 i2]",
    "False",
  ],
  [
    "a regular init container failed under restartPolicy Never",
    podView({
      restartPolicy: "Never",
      init: [view("i1", done1)],
      app: [view("app", creating)],
    }),
    "Failed",
    "False",
    "containers with incomplete status: [i1]",
    "False",
  ],
  [
    "a regular init container failed under restartPolicy OnFailure (it restarts)",
    podView({
      restartPolicy: "OnFailure",
      init: [view("i1", done1)],
      app: [view("app", creating)],
    }),
    "Pending",
    "False",
    "containers with incomplete status: [i1]",
    "False",
  ],
  [
    "a sidecar runs but has not passed its startup probe",
    podView({ init: [view("side", up, { sidecar: true })], app: [view("app", creating)] }),
    "Pending",
    "False",
    "containers with incomplete status: [side]",
    "False",
  ],
  [
    "init is done, the sidecar and the app run and are ready",
    podView({
      initDone: true,
      init: [view("i1", done0), view("side", up, { sidecar: true, started: true, ready: true })],
      app: [view("app", up, { started: true, ready: true })],
    }),
    "Running",
    "True",
    undefined,
    "True",
  ],
  [
    "init is done and the sidecar is not ready (it counts for readiness)",
    podView({
      initDone: true,
      init: [view("side", up, { sidecar: true, started: true })],
      app: [view("app", up, { started: true, ready: true })],
    }),
    "Running",
    "True",
    undefined,
    "False",
  ],
  [
    "the pod was deleted and every container stopped",
    podView({
      initDone: true,
      terminal: true,
      init: [view("side", { terminated: { exitCode: 143 } }, { sidecar: true })],
      app: [view("app", done0)],
    }),
    "Succeeded",
    "True",
    undefined,
    "False",
  ],
];
for (const [what, v, phase, initialized, message, ready] of statusCases) {
  test(`podStatus is ${phase}, Initialized ${initialized}, Ready ${ready} when ${what}`, () => {
    const s = podStatus(v, NOW) as { phase: string; conditions: PodCondition[] };
    const by = Object.fromEntries(s.conditions.map((c) => [c.type, c]));
    assert.equal(s.phase, phase);
    assert.equal(by.Initialized?.status, initialized);
    assert.equal(by.Initialized?.message, message);
    assert.equal(by.Ready?.status, ready);
    assert.equal(by.ContainersReady?.status, ready);
  });
}

test("podStatus lists init, app and ephemeral containers with the pod's addresses and QoS class", () => {
  const v = podView({
    pod: { spec: { containers: [] }, status: { qosClass: "BestEffort" } },
    init: [view("i1", done0, { containerID: "cid-1", restartCount: 2 })],
    app: [view("app", up)],
    ephemeral: [view("debug", up, { ephemeral: true })],
  });
  const s = podStatus(v, NOW) as Record<string, unknown> & {
    initContainerStatuses: ContainerStatus[];
    ephemeralContainerStatuses: ContainerStatus[];
  };
  assert.equal(s.qosClass, "BestEffort");
  assert.deepEqual(s.podIPs, [{ ip: "127.244.0.2" }]);
  assert.equal(s.initContainerStatuses[0]?.containerID, "cid-1");
  assert.equal(s.initContainerStatuses[0]?.restartCount, 2);
  assert.equal(s.ephemeralContainerStatuses[0]?.started, undefined, "no started for ephemeral");
  assert.equal((s.containerStatuses as ContainerStatus[])[0]?.started, false);
});

type WaitingCase = [what: string, spec: NonNullable<Pod["spec"]>, want: string];
const waitingCases: WaitingCase[] = [
  ["a pod without init containers", { containers: [{ name: "a" }] }, "ContainerCreating"],
  [
    "a pod with init containers",
    { initContainers: [{ name: "i" }], containers: [{ name: "a" }] },
    "PodInitializing",
  ],
];
for (const [what, spec, want] of waitingCases) {
  test(`notCreatedYet is waiting ${want} in ${what}`, () => {
    assert.deepEqual(notCreatedYet({ spec }), { waiting: { reason: want } });
  });
}
