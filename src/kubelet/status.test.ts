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

const cases: [string, ContainerStatus[], string, boolean, string][] = [
  ["init not done", [running], "Always", false, "Pending"],
  ["all running", [running], "Always", true, "Running"],
  ["one creating", [running, waiting], "Always", true, "Pending"],
  ["crash loop", [backoff], "Always", true, "Running"],
  ["all succeeded, Never", [ok, ok], "Never", true, "Succeeded"],
  ["one failed, Never", [ok, failed], "Never", true, "Failed"],
  ["one failed, OnFailure", [failed], "OnFailure", true, "Running"],
  ["succeeded, OnFailure", [ok], "OnFailure", true, "Succeeded"],
];
for (const [what, statuses, policy, init, want] of cases) {
  test(`podPhase is ${want} when ${what}`, () => {
    assert.equal(podPhase(statuses, policy, init), want);
  });
}

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
