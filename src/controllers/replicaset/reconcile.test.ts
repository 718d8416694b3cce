import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ReplicaSet } from "kubernetes-types/apps/v1.js";
import type { Pod } from "kubernetes-types/core/v1.js";
import type { OwnerReference } from "kubernetes-types/meta/v1.js";
import { Expectations } from "../_expectations.ts";
import { slowStartBatch } from "../_slowstart.ts";
import { podFromTemplate, type ReplicaSetDeps, reconcileReplicaSet } from "./reconcile.ts";

const NOW = Date.parse("2026-01-01T12:00:00Z");
const ago = (s: number) => `${new Date(NOW - s * 1000).toISOString().slice(0, 19)}Z`;

function replicaSet(
  replicas: number,
  extra: Partial<NonNullable<ReplicaSet["spec"]>> = {},
): ReplicaSet {
  return {
    metadata: { name: "web-abc", namespace: "default", uid: "rs-uid", generation: 2 },
    spec: {
      replicas,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web", tier: "front" }, annotations: { a: "1" } },
        spec: { containers: [{ name: "c", image: "nginx" }] },
      },
      ...extra,
    },
  };
}

function pod(
  name: string,
  o: { owner?: string; labels?: Record<string, string>; readyFor?: number; ready?: boolean } = {},
): Pod {
  return {
    metadata: {
      name,
      namespace: "default",
      uid: `uid-${name}`,
      labels: o.labels ?? { app: "web", tier: "front" },
      ...(o.owner
        ? {
            ownerReferences: [
              {
                apiVersion: "apps/v1",
                kind: "ReplicaSet",
                name: "x",
                uid: o.owner,
                controller: true,
              },
            ],
          }
        : {}),
    },
    spec: { nodeName: "n1", containers: [] },
    status: {
      phase: "Running",
      conditions: [
        {
          type: "Ready",
          status: (o.ready ?? true) ? "True" : "False",
          lastTransitionTime: ago(o.readyFor ?? 3600),
        },
      ],
    },
  };
}

interface World {
  deps: ReplicaSetDeps;
  created: Pod[];
  deleted: string[];
  owners: Array<[string, OwnerReference[]]>;
  statuses: Array<NonNullable<ReplicaSet["status"]>>;
  events: string[];
}

function world(
  rs: ReplicaSet | undefined,
  pods: Pod[],
  o: { failCreatesAfter?: number } = {},
): World {
  const w: World = {
    created: [],
    deleted: [],
    owners: [],
    statuses: [],
    events: [],
    deps: undefined as never,
  };
  let n = 0;
  w.deps = {
    getReplicaSet: () => rs,
    listPods: () => pods,
    createPod: async (_ns, p) => {
      if (o.failCreatesAfter !== undefined && w.created.length >= o.failCreatesAfter)
        throw new Error("quota exceeded");
      const made = { ...p, metadata: { ...p.metadata, name: `web-abc-${n++}` } };
      w.created.push(made);
      return made;
    },
    deletePod: async (_ns, name) => {
      w.deleted.push(name);
    },
    setPodOwners: async (p, owners) => {
      w.owners.push([p.metadata?.name ?? "", owners]);
    },
    writeStatus: async (_rs, s) => {
      w.statuses.push(s);
    },
    event: (_rs, type, reason, message) => w.events.push(`${type} ${reason} ${message}`),
    expectations: new Expectations(() => NOW),
    now: () => NOW,
  };
  return w;
}

describe("reconcileReplicaSet", () => {
  test("creates the missing pods from the template, owned by the set", async () => {
    const w = world(replicaSet(3), [pod("p1", { owner: "rs-uid" })]);
    await reconcileReplicaSet("default/web-abc", w.deps);
    assert.equal(w.created.length, 2);
    const p = w.created[0];
    assert.equal(p?.metadata?.generateName, "web-abc-");
    assert.deepEqual(p?.metadata?.labels, { app: "web", tier: "front" });
    assert.deepEqual(p?.metadata?.annotations, { a: "1" });
    assert.deepEqual(p?.metadata?.ownerReferences, [
      {
        apiVersion: "apps/v1",
        kind: "ReplicaSet",
        name: "web-abc",
        uid: "rs-uid",
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    assert.deepEqual(w.events, [
      "Normal SuccessfulCreate Created pod: web-abc-0",
      "Normal SuccessfulCreate Created pod: web-abc-1",
    ]);
  });

  test("does not create again while its creations are not yet seen", async () => {
    const w = world(replicaSet(3), []);
    await reconcileReplicaSet("default/web-abc", w.deps);
    await reconcileReplicaSet("default/web-abc", w.deps);
    assert.equal(w.created.length, 3);
    for (let i = 0; i < 3; i++) w.deps.expectations.creationObserved("default/web-abc");
    await reconcileReplicaSet("default/web-abc", w.deps);
    assert.equal(
      w.created.length,
      6,
      "the cache (still empty here) is trusted again once all are seen",
    );
  });

  test("stops after the first failing batch and reports ReplicaFailure", async () => {
    const w = world(replicaSet(10), [], { failCreatesAfter: 3 });
    await assert.rejects(
      reconcileReplicaSet("default/web-abc", w.deps),
      /FailedCreate: quota exceeded/,
    );
    // Batches of 1 and 2 succeed; the batch of 4 fails on its first create.
    assert.equal(w.created.length, 3);
    const cond = w.statuses.at(-1)?.conditions?.[0];
    assert.equal(cond?.type, "ReplicaFailure");
    assert.equal(cond?.reason, "FailedCreate");
    assert.equal(cond?.message, "quota exceeded");
    assert.ok(!w.deps.expectations.satisfied("default/web-abc"));
    for (let i = 0; i < 3; i++) w.deps.expectations.creationObserved("default/web-abc");
    assert.ok(
      w.deps.expectations.satisfied("default/web-abc"),
      "failed and skipped creates are not awaited",
    );
    assert.ok(
      w.events.some((e) => e.startsWith("Warning FailedCreate Error creating: quota exceeded")),
    );
  });

  test("deletes the surplus, least valuable pods first", async () => {
    const pods = [
      pod("old", { owner: "rs-uid", readyFor: 90_000 }),
      pod("unready", { owner: "rs-uid", ready: false }),
      pod("young", { owner: "rs-uid", readyFor: 5 }),
    ];
    const w = world(replicaSet(1), pods);
    await reconcileReplicaSet("default/web-abc", w.deps);
    assert.deepEqual(w.deleted.sort(), ["unready", "young"]);
    assert.ok(!w.deps.expectations.satisfied("default/web-abc"));
    w.deps.expectations.deletionObserved("default/web-abc", "default/unready");
    w.deps.expectations.deletionObserved("default/web-abc", "default/young");
    assert.ok(w.deps.expectations.satisfied("default/web-abc"));
  });

  test("adopts matching orphans, releases owned pods that stopped matching, ignores others'", async () => {
    const pods = [
      pod("orphan"),
      pod("stray", { owner: "rs-uid", labels: { app: "other" } }),
      pod("foreign", { owner: "other-uid" }),
      pod("mine", { owner: "rs-uid" }),
    ];
    const w = world(replicaSet(2), pods);
    await reconcileReplicaSet("default/web-abc", w.deps);
    assert.deepEqual(
      w.owners.map(([n, o]) => [n, o.map((r) => r.uid)]),
      [
        ["orphan", ["rs-uid"]],
        ["stray", []],
      ],
    );
    assert.equal(w.created.length, 0, "orphan + mine make two");
    assert.equal(w.statuses.at(-1)?.replicas, 2);
  });

  test("status counts labelled, ready and available pods; requeues for minReadySeconds", async () => {
    const pods = [
      pod("a", { owner: "rs-uid", readyFor: 100 }),
      pod("b", { owner: "rs-uid", readyFor: 4 }),
      pod("c", { owner: "rs-uid", ready: false, labels: { app: "web" } }),
    ];
    const w = world(replicaSet(3, { minReadySeconds: 10 }), pods);
    const r = await reconcileReplicaSet("default/web-abc", w.deps);
    assert.deepEqual(w.statuses.at(-1), {
      replicas: 3,
      fullyLabeledReplicas: 2,
      readyReplicas: 2,
      availableReplicas: 1,
      observedGeneration: 2,
    });
    // b turned ready 4 s ago: available after 6 more seconds (plus a second of margin).
    assert.deepEqual(r, { requeueAfter: 7000 });
  });

  test("a vanished set drops its expectations", async () => {
    const w = world(undefined, []);
    w.deps.expectations.expectCreations("default/web-abc", 2);
    await reconcileReplicaSet("default/web-abc", w.deps);
    assert.ok(w.deps.expectations.satisfied("default/web-abc"));
  });

  test("podFromTemplate copies the template and names the owner", () => {
    const p = podFromTemplate(replicaSet(1));
    assert.deepEqual(p.spec, { containers: [{ name: "c", image: "nginx" }] });
    assert.equal(p.metadata?.namespace, "default");
  });
});

describe("slowStartBatch", () => {
  const cases = [
    { count: 0, failAt: undefined, calls: 0 },
    { count: 1, failAt: undefined, calls: 1 },
    { count: 10, failAt: undefined, calls: 10 },
    { count: 10, failAt: 0, calls: 1 },
    { count: 10, failAt: 2, calls: 3 },
    { count: 10, failAt: 4, calls: 7 },
  ];
  for (const c of cases)
    test(`${c.count} calls failing at ${c.failAt ?? "none"} make ${c.calls} calls in batches 1,2,4,…`, async () => {
      let calls = 0;
      const r = await slowStartBatch(c.count, async () => {
        const i = calls++;
        if (i === c.failAt) throw new Error("no");
      });
      assert.equal(calls, c.calls);
      assert.equal(r.successes, c.failAt === undefined ? c.count : c.calls - 1);
    });
});
