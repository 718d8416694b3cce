import assert from "node:assert/strict";
import { test } from "node:test";
import type { ContainerStatus } from "kubernetes-types/core/v1.js";
import { podConditions, podPhase } from "./status.ts";

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
