import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../types.ts";
import { podRow, podRowConditions, podSummary } from "./pod_printer.ts";

const NOW = Date.parse("2026-01-01T01:00:00Z");
const running = { running: { startedAt: "2026-01-01T00:00:00Z" } };

function pod(
  spec: Record<string, unknown>,
  status: Record<string, unknown>,
  meta: Record<string, unknown> = {},
): KubeObject {
  return {
    metadata: {
      name: "p",
      namespace: "default",
      creationTimestamp: "2026-01-01T00:00:00Z",
      ...meta,
    },
    spec,
    status,
  };
}

const one = { containers: [{ name: "a" }] };
const two = { containers: [{ name: "a" }, { name: "b" }] };

test("podSummary derives STATUS and READY as kubectl shows them", () => {
  const cases: { name: string; pod: KubeObject; ready: string; status: string }[] = [
    {
      name: "pending without statuses",
      pod: pod(one, { phase: "Pending" }),
      ready: "0/1",
      status: "Pending",
    },
    {
      name: "creating",
      pod: pod(one, {
        phase: "Pending",
        containerStatuses: [
          { name: "a", ready: false, state: { waiting: { reason: "ContainerCreating" } } },
        ],
      }),
      ready: "0/1",
      status: "ContainerCreating",
    },
    {
      name: "running and ready",
      pod: pod(two, {
        phase: "Running",
        containerStatuses: [
          { name: "a", ready: true, state: running },
          { name: "b", ready: true, state: running },
        ],
      }),
      ready: "2/2",
      status: "Running",
    },
    {
      name: "crash loop wins over running sibling",
      pod: pod(two, {
        phase: "Running",
        containerStatuses: [
          { name: "a", ready: true, state: running },
          {
            name: "b",
            ready: false,
            restartCount: 4,
            state: { waiting: { reason: "CrashLoopBackOff" } },
          },
        ],
      }),
      ready: "1/2",
      status: "CrashLoopBackOff",
    },
    {
      name: "completed",
      pod: pod(one, {
        phase: "Succeeded",
        containerStatuses: [
          { name: "a", ready: false, state: { terminated: { exitCode: 0, reason: "Completed" } } },
        ],
      }),
      ready: "0/1",
      status: "Completed",
    },
    {
      name: "exit code without reason",
      pod: pod(one, {
        phase: "Failed",
        containerStatuses: [{ name: "a", state: { terminated: { exitCode: 3 } } }],
      }),
      ready: "0/1",
      status: "ExitCode:3",
    },
    {
      name: "signal without reason",
      pod: pod(one, {
        phase: "Failed",
        containerStatuses: [{ name: "a", state: { terminated: { exitCode: 137, signal: 9 } } }],
      }),
      ready: "0/1",
      status: "Signal:9",
    },
    {
      name: "completed with a running container becomes NotReady without Ready condition",
      pod: pod(two, {
        phase: "Running",
        containerStatuses: [
          { name: "a", ready: false, state: { terminated: { exitCode: 0, reason: "Completed" } } },
          { name: "b", ready: true, state: running },
        ],
      }),
      ready: "1/2",
      status: "NotReady",
    },
    {
      name: "completed with a running container and Ready condition is Running",
      pod: pod(two, {
        phase: "Running",
        conditions: [{ type: "Ready", status: "True" }],
        containerStatuses: [
          { name: "a", ready: false, state: { terminated: { exitCode: 0, reason: "Completed" } } },
          { name: "b", ready: true, state: running },
        ],
      }),
      ready: "1/2",
      status: "Running",
    },
    {
      name: "init in progress",
      pod: pod(
        { initContainers: [{ name: "i1" }, { name: "i2" }], containers: [{ name: "a" }] },
        {
          phase: "Pending",
          initContainerStatuses: [
            { name: "i1", state: { terminated: { exitCode: 0, reason: "Completed" } } },
            { name: "i2", state: running },
          ],
          containerStatuses: [{ name: "a", state: { waiting: { reason: "PodInitializing" } } }],
        },
      ),
      ready: "0/1",
      status: "Init:1/2",
    },
    {
      name: "init crash loop",
      pod: pod(
        { initContainers: [{ name: "i1" }], containers: [{ name: "a" }] },
        {
          phase: "Pending",
          initContainerStatuses: [
            { name: "i1", state: { waiting: { reason: "CrashLoopBackOff" } } },
          ],
        },
      ),
      ready: "0/1",
      status: "Init:CrashLoopBackOff",
    },
    {
      name: "init failed with exit code",
      pod: pod(
        { initContainers: [{ name: "i1" }], containers: [{ name: "a" }] },
        {
          phase: "Pending",
          initContainerStatuses: [{ name: "i1", state: { terminated: { exitCode: 2 } } }],
        },
      ),
      ready: "0/1",
      status: "Init:ExitCode:2",
    },
    {
      name: "started sidecar counts toward READY",
      pod: pod(
        { initContainers: [{ name: "s", restartPolicy: "Always" }], containers: [{ name: "a" }] },
        {
          phase: "Running",
          initContainerStatuses: [{ name: "s", started: true, ready: true, state: running }],
          containerStatuses: [{ name: "a", ready: true, state: running }],
        },
      ),
      ready: "2/2",
      status: "Running",
    },
    {
      name: "terminating",
      pod: pod(
        one,
        { phase: "Running", containerStatuses: [{ name: "a", ready: true, state: running }] },
        { deletionTimestamp: "2026-01-01T00:59:00Z" },
      ),
      ready: "1/1",
      status: "Terminating",
    },
    {
      name: "terminal pod being deleted keeps its status",
      pod: pod(
        one,
        {
          phase: "Succeeded",
          containerStatuses: [
            { name: "a", state: { terminated: { exitCode: 0, reason: "Completed" } } },
          ],
        },
        { deletionTimestamp: "2026-01-01T00:59:00Z" },
      ),
      ready: "0/1",
      status: "Completed",
    },
    {
      name: "node lost",
      pod: pod(
        one,
        { phase: "Running", reason: "NodeLost" },
        { deletionTimestamp: "2026-01-01T00:59:00Z" },
      ),
      ready: "0/1",
      status: "Unknown",
    },
    {
      name: "pod reason overrides phase",
      pod: pod(one, { phase: "Failed", reason: "Evicted" }),
      ready: "0/1",
      status: "Evicted",
    },
    {
      name: "scheduling gated",
      pod: pod(one, {
        phase: "Pending",
        conditions: [{ type: "PodScheduled", status: "False", reason: "SchedulingGated" }],
      }),
      ready: "0/1",
      status: "SchedulingGated",
    },
  ];
  for (const c of cases) {
    const s = podSummary(c.pod, NOW);
    assert.equal(s.status, c.status, c.name);
    assert.equal(s.ready, c.ready, c.name);
  }
});

test("podSummary shows restarts with the age of the last one", () => {
  const p = pod(two, {
    phase: "Running",
    containerStatuses: [
      {
        name: "a",
        ready: true,
        restartCount: 2,
        state: running,
        lastState: { terminated: { exitCode: 1, finishedAt: "2026-01-01T00:50:00Z" } },
      },
      {
        name: "b",
        ready: true,
        restartCount: 1,
        state: running,
        lastState: { terminated: { exitCode: 1, finishedAt: "2026-01-01T00:55:00Z" } },
      },
    ],
  });
  assert.equal(podSummary(p, NOW).restarts, "3 (5m ago)");
  assert.equal(podSummary(pod(one, { phase: "Running" }), NOW).restarts, "0");
  const noTime = pod(one, {
    phase: "Running",
    containerStatuses: [{ name: "a", restartCount: 1, state: running }],
  });
  assert.equal(podSummary(noTime, NOW).restarts, "1");
});

test("podRow fills the wide columns with <none> when unset", () => {
  assert.deepEqual(podRow(pod(one, { phase: "Pending" }), NOW), [
    "p",
    "0/1",
    "Pending",
    "0",
    "60m",
    "<none>",
    "<none>",
    "<none>",
    "<none>",
  ]);
  const scheduled = pod(
    {
      ...one,
      nodeName: "n1",
      readinessGates: [{ conditionType: "x.io/ok" }, { conditionType: "x.io/other" }],
    },
    {
      phase: "Running",
      podIPs: [{ ip: "127.244.0.9" }],
      conditions: [{ type: "x.io/ok", status: "True" }],
    },
  );
  assert.deepEqual(podRow(scheduled, NOW).slice(5), ["127.244.0.9", "n1", "<none>", "1/2"]);
});

test("podRowConditions marks terminal pods Completed", () => {
  assert.equal(podRowConditions(pod(one, { phase: "Running" })), undefined);
  assert.deepEqual(podRowConditions(pod(one, { phase: "Failed" })), [
    { type: "Completed", status: "True", reason: "Failed", message: "The pod failed." },
  ]);
});
