import assert from "node:assert/strict";
import { test } from "node:test";
import type { Pod } from "kubernetes-types/core/v1.js";
import { waitFor } from "../../_testing/index.ts";
import { REFS } from "../../api/refs.ts";
import type { KubeObject } from "../../api/types.ts";
import { createInformerFactory } from "../../client/factory.ts";
import { FakeApi } from "../../client/testing.ts";
import { startReplicaSetController, startReplicationController } from "./index.ts";

const template = {
  metadata: { labels: { app: "web" } },
  spec: { containers: [{ name: "c", image: "x" }] },
};

test("a set claims its own pods and adopts the namespace's orphans, never another set's pods", async () => {
  const api = new FakeApi();
  const other = await api.create(REFS.replicasets, "a", {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: { name: "other", namespace: "a" },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: "web", tier: "other" } },
      template: { ...template, metadata: { labels: { app: "web", tier: "other" } } },
    },
  });
  const pod = (name: string, owner?: KubeObject): KubeObject => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "a",
      labels: owner ? { app: "web", tier: "other" } : { app: "web" },
      ...(owner
        ? {
            ownerReferences: [
              {
                apiVersion: "apps/v1",
                kind: "ReplicaSet",
                name: owner.metadata.name ?? "",
                uid: owner.metadata.uid ?? "",
                controller: true,
              },
            ],
          }
        : {}),
    },
    spec: template.spec,
  });
  await api.create(REFS.pods, "a", pod("orphan"));
  await api.create(REFS.pods, "a", pod("theirs", other));
  await api.create(REFS.pods, "b", {
    ...pod("elsewhere"),
    metadata: { ...pod("elsewhere").metadata, namespace: "b" },
  });
  const rs = await api.create(REFS.replicasets, "a", {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: { name: "web", namespace: "a" },
    spec: { replicas: 2, selector: { matchLabels: { app: "web" } }, template },
  });
  const informers = createInformerFactory(api);
  // Caches first, so the set's first sync already sees the orphan (no create-then-delete race).
  informers.get(REFS.pods);
  informers.get(REFS.replicasets);
  informers.start();
  await informers.waitForSync();
  const ctl = startReplicaSetController({ client: api, informers, now: () => new Date() });
  try {
    const owned = async () =>
      ((await api.list(REFS.pods, "a")).items as Array<Pod & KubeObject>).filter((p) =>
        p.metadata.ownerReferences?.some((r) => r.uid === rs.metadata.uid && r.controller),
      );
    await waitFor(async () => (await owned()).length >= 2, { what: "two pods owned by the set" });
    const mine = (await owned()).map((p) => p.metadata.name);
    assert.equal(mine.length, 2, `owned: ${mine}`);
    assert.ok(
      mine.includes("orphan"),
      `the orphan is adopted rather than a second pod created: ${mine} ${JSON.stringify((await api.get(REFS.pods, "a", "orphan")).metadata)}`,
    );
    assert.ok(!mine.includes("theirs"));
    const theirs = await api.get(REFS.pods, "a", "theirs");
    assert.deepEqual(
      theirs.metadata.ownerReferences?.map((r) => r.uid),
      [other.metadata.uid],
    );
    const elsewhere = await api.get(REFS.pods, "b", "elsewhere");
    assert.equal(elsewhere.metadata.ownerReferences, undefined);
  } finally {
    await ctl.stop();
    await informers.stop();
  }
});

test("a ReplicationController is kept at its replicas by the same controller, owning its pods", async () => {
  const api = new FakeApi();
  const rc = await api.create(REFS.replicationcontrollers, "a", {
    apiVersion: "v1",
    kind: "ReplicationController",
    metadata: { name: "nginx", namespace: "a", generation: 1 },
    spec: { replicas: 3, selector: { app: "web" }, template },
  });
  const informers = createInformerFactory(api);
  informers.get(REFS.pods);
  informers.get(REFS.replicationcontrollers);
  informers.start();
  await informers.waitForSync();
  const ctl = startReplicationController({ client: api, informers, now: () => new Date() });
  try {
    const pods = async () => (await api.list(REFS.pods, "a")).items as Array<Pod & KubeObject>;
    const made = await waitFor(
      async () => {
        const all = await pods();
        return all.length >= 3 && all;
      },
      { what: "three pods of the ReplicationController" },
    );
    assert.equal(made.length, 3);
    for (const p of made) {
      assert.match(p.metadata.name ?? "", /^nginx-/);
      assert.deepEqual(p.metadata.ownerReferences, [
        {
          apiVersion: "v1",
          kind: "ReplicationController",
          name: "nginx",
          uid: rc.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
    }
    const status = await waitFor(
      async () => {
        const got = await api.get(REFS.replicationcontrollers, "a", "nginx");
        const s = got.status as Record<string, unknown> | undefined;
        return s?.replicas === 3 && s;
      },
      { what: "the ReplicationController's status to count three replicas" },
    );
    assert.equal(status?.fullyLabeledReplicas, 3);
  } finally {
    await ctl.stop();
    await informers.stop();
  }
});
