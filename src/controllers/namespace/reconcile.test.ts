import assert from "node:assert/strict";
import { test } from "node:test";
import type { Namespace, NamespaceCondition } from "kubernetes-types/core/v1.js";
import { REFS } from "../../api/refs.ts";
import type { KubeObject } from "../../api/types.ts";
import type { ResourceRef } from "../../api/verbs.ts";
import { type NamespaceDeps, reconcileNamespace } from "./reconcile.ts";

function ns(deleting: boolean, finalizers = ["kubernetes"]): Namespace {
  return {
    metadata: { name: "team", ...(deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}) },
    spec: { finalizers },
  };
}

function obj(
  name: string,
  o: { finalizers?: string[]; sticky?: boolean } = {},
): KubeObject & { sticky?: boolean } {
  return {
    metadata: {
      name,
      namespace: "team",
      uid: name,
      ...(o.finalizers ? { finalizers: o.finalizers } : {}),
    },
    ...(o.sticky ? { sticky: true } : {}),
  };
}

/** A fake API: objects per resource; deleting removes an object unless it is sticky. */
function fake(
  namespace: Namespace,
  content: Map<ResourceRef, Array<KubeObject & { sticky?: boolean }>>,
) {
  const calls: string[] = [];
  let conditions: NamespaceCondition[] = [];
  const deps: NamespaceDeps = {
    getNamespace: () => namespace,
    resources: [REFS.pods, REFS.configmaps, REFS.deployments],
    listObjects: async (ref) => content.get(ref) ?? [],
    deleteObject: async (ref, o) => {
      calls.push(`delete ${ref.resource}/${o.metadata.name}`);
      const items = content.get(ref) ?? [];
      content.set(
        ref,
        items.flatMap((x) =>
          x.metadata.name !== o.metadata.name
            ? [x]
            : x.sticky
              ? [{ ...x, metadata: { ...x.metadata, deletionTimestamp: "t" } }]
              : [],
        ),
      );
    },
    writeConditions: async (_n, c) => {
      conditions = c;
      calls.push("conditions");
    },
    finalize: async (_n, f) => {
      calls.push(`finalize ${JSON.stringify(f)}`);
    },
    now: () => new Date("2026-01-01T00:00:00Z"),
    recheckMs: 100,
  };
  return { deps, calls, conditions: () => conditions };
}

test("reconcileNamespace leaves a namespace alone until it is being deleted", async () => {
  for (const n of [ns(false), ns(true, [])]) {
    const f = fake(n, new Map([[REFS.pods, [obj("a")]]]));
    assert.equal(await reconcileNamespace("team", f.deps), undefined);
    assert.deepEqual(f.calls, []);
  }
});

test("reconcileNamespace deletes everything, then finalizes the emptied namespace", async () => {
  const f = fake(
    ns(true, ["kubernetes", "other"]),
    new Map([
      [REFS.pods, [obj("a"), obj("b")]],
      [REFS.configmaps, [obj("c")]],
    ]),
  );
  assert.equal(await reconcileNamespace("team", f.deps), undefined);
  assert.deepEqual(f.calls, [
    "delete pods/a",
    "delete pods/b",
    "delete configmaps/c",
    "conditions",
    'finalize ["other"]',
  ]);
  const remaining = f.conditions().find((c) => c.type === "NamespaceContentRemaining");
  assert.equal(remaining?.status, "False");
  assert.equal(remaining?.reason, "ContentRemoved");
});

test("reconcileNamespace waits while objects held by finalizers remain, and says which", async () => {
  const f = fake(
    ns(true),
    new Map([[REFS.deployments, [obj("d", { finalizers: ["example.com/hold"], sticky: true })]]]),
  );
  assert.deepEqual(await reconcileNamespace("team", f.deps), { requeueAfter: 100 });
  assert.ok(!f.calls.some((c) => c.startsWith("finalize")));
  const by = (t: string) => f.conditions().find((c) => c.type === t);
  assert.equal(
    by("NamespaceContentRemaining")?.message,
    "Some resources are remaining: deployments.apps has 1 resource instances",
  );
  assert.equal(by("NamespaceContentRemaining")?.reason, "SomeResourcesRemain");
  assert.equal(
    by("NamespaceFinalizersRemaining")?.message,
    "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances",
  );
  // A second pass does not delete the already-terminating object again.
  f.calls.length = 0;
  await reconcileNamespace("team", f.deps);
  assert.ok(!f.calls.some((c) => c.startsWith("delete")));
});
