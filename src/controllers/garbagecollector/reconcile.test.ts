import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject, OwnerReference } from "../../api/types.ts";
import type { OwnerState } from "./_plan.ts";
import { GC_RESOURCES, itemKey } from "./_resources.ts";
import { type Dependent, type GcDeps, reconcileItem } from "./reconcile.ts";

const cms = GC_RESOURCES.find((r) => r.kind === "ConfigMap")!;
const ref = (uid: string, block = false): OwnerReference => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  name: uid,
  uid,
  ...(block ? { blockOwnerDeletion: true } : {}),
});
const cm = (name: string, meta: Partial<KubeObject["metadata"]> = {}): KubeObject => ({
  metadata: { name, namespace: "default", uid: name, resourceVersion: "1", ...meta },
});

function harness(objects: KubeObject[], states: Record<string, OwnerState> = {}) {
  const log: string[] = [];
  const byName = new Map(objects.map((o) => [o.metadata.name ?? "", o]));
  const deps: GcDeps = {
    resources: () => GC_RESOURCES,
    synced: () => true,
    get: (_r, _ns, name) => byName.get(name),
    dependents: (uid) =>
      objects
        .filter((o) => (o.metadata.ownerReferences ?? []).some((r) => r.uid === uid))
        .map((obj) => ({ res: cms, obj })),
    ownerState: async (r) => states[r.uid] ?? "solid",
    delete: async (d: Dependent, policy) => {
      log.push(`delete ${d.obj.metadata.name} ${policy}`);
    },
    setOwnerReferences: async (d, refs) => {
      log.push(`refs ${d.obj.metadata.name} [${refs.map((r) => r.uid).join(",")}]`);
    },
    removeFinalizer: async (d, f) => {
      log.push(`unfinalize ${d.obj.metadata.name} ${f}`);
    },
    enqueue: (d) => log.push(`enqueue ${d.obj.metadata.name}`),
  };
  return { deps, log };
}

const key = (name: string) => itemKey(cms, "default", name);

test("reconcileItem deletes a dependent whose only owner is gone, in the background", async () => {
  const h = harness([cm("child", { ownerReferences: [ref("owner")] })], { owner: "dangling" });
  await reconcileItem(key("child"), h.deps);
  assert.deepEqual(h.log, ["delete child Background"]);
});

test("reconcileItem orphans the dependents, then drops the orphan finalizer", async () => {
  const owner = cm("owner", { deletionTimestamp: "t", finalizers: ["orphan"] });
  const h = harness([owner, cm("a", { ownerReferences: [ref("owner"), ref("other")] })]);
  await reconcileItem(key("owner"), h.deps);
  assert.deepEqual(h.log, ["refs a [other]", "unfinalize owner orphan"]);
});

test("reconcileItem holds a foreground owner while a blocking dependent exists", async () => {
  const owner = cm("owner", { deletionTimestamp: "t", finalizers: ["foregroundDeletion"] });
  const child = cm("a", { ownerReferences: [ref("owner", true)] });
  const h = harness([owner, child], { owner: "waiting" });
  await reconcileItem(key("owner"), h.deps);
  assert.deepEqual(h.log, ["enqueue a"]);
  h.log.length = 0;
  await reconcileItem(key("a"), h.deps);
  assert.deepEqual(h.log, ["delete a Background"]);
  const done = harness([owner]);
  await reconcileItem(key("owner"), done.deps);
  assert.deepEqual(done.log, ["unfinalize owner foregroundDeletion"]);
});

test("reconcileItem waits for the caches to sync before judging", async () => {
  const h = harness([cm("child", { ownerReferences: [ref("owner")] })], { owner: "dangling" });
  h.deps.synced = () => false;
  assert.deepEqual(await reconcileItem(key("child"), h.deps), { requeueAfter: 100 });
  assert.deepEqual(h.log, []);
});
