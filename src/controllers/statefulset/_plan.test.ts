import assert from "node:assert/strict";
import { test } from "node:test";
import type { StatefulSet, StatefulSetSpec } from "kubernetes-types/apps/v1.js";
import type { PersistentVolumeClaim, Pod } from "kubernetes-types/core/v1.js";
import { newPod } from "./_identity.ts";
import { type Action, type PlanInput, planStatefulSet } from "./_plan.ts";

const NOW = new Date("2026-01-01T00:01:00Z");

function set(spec: Partial<StatefulSetSpec> = {}, status = {}): StatefulSet {
  return {
    metadata: { name: "web", namespace: "ns", uid: "set-uid", generation: 2 },
    spec: {
      replicas: 3,
      serviceName: "nginx",
      selector: { matchLabels: { app: "web" } },
      podManagementPolicy: "OrderedReady",
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 0 } },
      template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "c" }] } },
      volumeClaimTemplates: [{ metadata: { name: "www" }, spec: {} }],
      ...spec,
    },
    status: { replicas: 0, ...status },
  };
}

type State = "ready" | "unready" | "pending" | "terminating" | "failed";

/** `"2:ready:old"`: ordinal 2, Running and Ready, on revision `old`. */
function pod(s: StatefulSet, desc: string): Pod {
  const [ordinal, state = "ready", rev = "new"] = desc.split(":") as [string, State?, string?];
  const p = newPod(s, Number(ordinal), rev);
  const ready = state === "ready" || state === "terminating";
  return {
    ...p,
    metadata: {
      ...p.metadata,
      uid: `uid-${ordinal}`,
      ...(state === "terminating" ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}),
    },
    status: {
      phase: state === "pending" ? "Pending" : state === "failed" ? "Failed" : "Running",
      conditions: [
        {
          type: "Ready",
          status: ready ? "True" : "False",
          lastTransitionTime: "2026-01-01T00:00:30Z",
        },
      ],
    },
  };
}

function plan(s: StatefulSet, pods: string[], extra: Partial<PlanInput> = {}) {
  return planStatefulSet({
    set: s,
    currentSet: s,
    updateSet: s,
    currentRevision: "old",
    updateRevision: "new",
    collisionCount: 0,
    pods: pods.map((d) => pod(s, d)),
    getClaim: () => undefined,
    now: NOW,
    ...extra,
  });
}

function describe(a: Action): string {
  switch (a.type) {
    case "createPod":
      return `create ${a.pod.metadata?.name}@${a.pod.metadata?.labels?.["controller-revision-hash"]}`;
    case "deletePod":
      return `delete ${a.pod.metadata?.name} (${a.why})`;
    case "createClaims":
      return `claims ${a.claims.map((c) => c.metadata?.name).join(",")}`;
    case "updatePod":
      return `update ${a.pod.metadata?.name}`;
    case "setClaimOwners":
      return `owners ${a.claim.metadata?.name} ${a.ownerReferences.map((r) => r.kind).join(",")}`;
  }
}

const cases: Array<{
  name: string;
  spec?: Partial<StatefulSetSpec>;
  pods: string[];
  want: string[];
}> = [
  {
    name: "an empty OrderedReady set creates only the first pod",
    pods: [],
    want: ["create web-0@new"],
  },
  {
    name: "OrderedReady waits while the previous pod is not Ready",
    pods: ["0:unready"],
    want: [],
  },
  { name: "OrderedReady goes on once it is", pods: ["0"], want: ["create web-1@new"] },
  {
    name: "OrderedReady waits for a terminating pod",
    pods: ["0:terminating", "1"],
    want: [],
  },
  {
    name: "a missing middle pod is recreated before anything else",
    pods: ["0", "2"],
    want: ["create web-1@new"],
  },
  {
    name: "Parallel creates every missing pod at once",
    spec: { podManagementPolicy: "Parallel" },
    pods: ["1:unready"],
    want: ["create web-0@new", "create web-2@new"],
  },
  {
    name: "a failed pod is deleted to be recreated",
    pods: ["0", "1:failed", "2"],
    want: ["delete web-1 (failed)"],
  },
  {
    name: "scale-down deletes the highest ordinal only",
    spec: { replicas: 1 },
    pods: ["0", "1", "2"],
    want: ["delete web-2 (scale-down)"],
  },
  {
    name: "scale-down waits for a terminating condemned pod",
    spec: { replicas: 1 },
    pods: ["0", "1", "2:terminating"],
    want: [],
  },
  {
    name: "scale-down halts while a remaining pod is unhealthy",
    spec: { replicas: 1 },
    pods: ["0:unready", "1", "2"],
    want: [],
  },
  {
    name: "scale-down deletes an unhealthy condemned pod when it is the first unhealthy one",
    spec: { replicas: 1 },
    pods: ["0", "1:unready"],
    want: ["delete web-1 (scale-down)"],
  },
  {
    name: "scale-down goes highest first even past an unhealthy lower condemned pod (as kube)",
    spec: { replicas: 1 },
    pods: ["0", "1:unready", "2"],
    want: ["delete web-2 (scale-down)"],
  },
  {
    name: "scale-down waits behind an unhealthy condemned pod that is not the first unhealthy",
    spec: { replicas: 1 },
    pods: ["0", "1:unready", "2:unready"],
    want: [],
  },
  {
    name: "Parallel scale-down deletes every condemned pod",
    spec: { replicas: 1, podManagementPolicy: "Parallel" },
    pods: ["0", "1", "2"],
    want: ["delete web-2 (scale-down)", "delete web-1 (scale-down)"],
  },
  {
    name: "a rolling update deletes the highest pod not on the update revision",
    pods: ["0:ready:old", "1:ready:old", "2:ready:old"],
    want: ["delete web-2 (update)"],
  },
  {
    name: "a rolling update waits for the updated pod to be healthy",
    pods: ["0:ready:old", "1:ready:old", "2:unready:new"],
    want: [],
  },
  {
    name: "a rolling update goes down once it is",
    pods: ["0:ready:old", "1:ready:old", "2:ready:new"],
    want: ["delete web-1 (update)"],
  },
  {
    name: "the partition keeps lower ordinals on the current revision",
    spec: { updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 2 } } },
    pods: ["0:ready:old", "1:ready:old", "2:ready:new"],
    want: [],
  },
  {
    name: "OnDelete never deletes for an update",
    spec: { updateStrategy: { type: "OnDelete" } },
    pods: ["0:ready:old", "1:ready:old", "2:ready:old"],
    want: [],
  },
  {
    name: "OnDelete recreates a deleted pod on the update revision",
    spec: { updateStrategy: { type: "OnDelete" } },
    pods: ["0:ready:old", "2:ready:old"],
    want: ["create web-1@new"],
  },
  {
    name: "below the partition a recreated pod takes the current revision",
    spec: { updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 2 } } },
    pods: ["1:ready:old", "2:ready:new"],
    want: ["create web-0@old"],
  },
  {
    name: "a pending pod gets its missing claims",
    pods: ["0:pending"],
    want: ["claims www-web-0"],
  },
  {
    name: "ordinals start at spec.ordinals.start",
    spec: { ordinals: { start: 5 } },
    pods: ["5", "6"],
    want: ["create web-7@new"],
  },
];

for (const c of cases) {
  test(`planStatefulSet: ${c.name}`, () => {
    const s = set(c.spec);
    assert.deepEqual(plan(s, c.pods).actions.map(describe), c.want);
  });
}

test("planStatefulSet creates a pod together with its claims", () => {
  const [a] = plan(set(), []).actions;
  assert.equal(a?.type, "createPod");
  if (a?.type !== "createPod") return;
  assert.deepEqual(
    a.claims.map((c) => [c.metadata?.name, c.metadata?.labels]),
    [["www-web-0", { app: "web" }]],
  );
});

test("planStatefulSet waits while a claim is still owned by an earlier pod of that name", () => {
  const stale: PersistentVolumeClaim = {
    metadata: {
      name: "www-web-0",
      ownerReferences: [{ apiVersion: "v1", kind: "Pod", name: "web-0", uid: "gone" }],
    },
  };
  assert.deepEqual(plan(set(), [], { getClaim: () => stale }).actions, []);
});

test("planStatefulSet counts the status and completes a finished rolling update", () => {
  const s = set();
  const p = plan(s, ["0", "1", "2"], { currentRevision: "old", updateRevision: "new" });
  assert.deepEqual(p.status, {
    observedGeneration: 2,
    replicas: 3,
    readyReplicas: 3,
    currentReplicas: 3,
    updatedReplicas: 3,
    availableReplicas: 3,
    currentRevision: "new",
    updateRevision: "new",
    collisionCount: 0,
  });
});

test("planStatefulSet keeps the current revision while pods are on it", () => {
  const p = plan(set(), ["0:ready:old", "1:ready:old", "2:ready:new"]);
  assert.equal(p.status.currentRevision, "old");
  assert.equal(p.status.currentReplicas, 1, "web-1 is being deleted for the update");
  assert.equal(p.status.updatedReplicas, 1);
});

test("planStatefulSet holds a ready pod until minReadySeconds have passed, and says when to look again", () => {
  const s = set({ minReadySeconds: 60 });
  const p = plan(s, ["0"]);
  assert.deepEqual(p.actions, []);
  assert.equal(p.status.availableReplicas, 0);
  assert.equal(p.requeueAfterMs, 30_000);
  const later = plan(s, ["0"], { now: new Date("2026-01-01T00:02:00Z") });
  assert.deepEqual(later.actions.map(describe), ["create web-1@new"]);
});

test("planStatefulSet only writes status for a set being deleted", () => {
  const s = set({ replicas: 5 });
  s.metadata = { ...s.metadata, deletionTimestamp: "2026-01-01T00:00:00Z" };
  assert.deepEqual(plan(s, ["0"]).actions, []);
});

test("planStatefulSet gives a scaled-down pod's claim to the pod under whenScaled: Delete", () => {
  const s = set({
    replicas: 1,
    persistentVolumeClaimRetentionPolicy: { whenScaled: "Delete", whenDeleted: "Retain" },
  });
  const claims: Record<string, PersistentVolumeClaim> = {
    "www-web-0": { metadata: { name: "www-web-0" } },
    "www-web-1": { metadata: { name: "www-web-1" } },
  };
  const p = plan(s, ["0", "1"], { getClaim: (n) => claims[n] });
  assert.deepEqual(p.actions.map(describe), ["owners www-web-1 Pod", "delete web-1 (scale-down)"]);
});
