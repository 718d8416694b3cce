import assert from "node:assert/strict";
import { test } from "node:test";
import { StatusError } from "../../api/errors.ts";
import type { KubeObject } from "../../api/types.ts";
import { MemoryStore } from "../../store/index.ts";
import { createRegistry } from "../index.ts";

const CRD_REF = {
  group: "apiextensions.k8s.io",
  version: "v1",
  resource: "customresourcedefinitions",
};
const ref = (version: string) => ({ group: "example.com", version, resource: "widgets" });

function crd(v1Spec: Record<string, unknown>, v2Spec: Record<string, unknown>): KubeObject {
  const version = (name: string, storage: boolean, spec: Record<string, unknown>) => ({
    name,
    served: true,
    storage,
    schema: {
      openAPIV3Schema: {
        type: "object",
        properties: { spec: { type: "object", properties: spec } },
      },
    },
  });
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "widgets.example.com" },
    spec: {
      group: "example.com",
      scope: "Namespaced",
      names: { plural: "widgets", kind: "Widget" },
      versions: [version("v1", true, v1Spec), version("v2", false, v2Spec)],
    },
  };
}

function widget(version: string, name: string, spec: Record<string, unknown>): KubeObject {
  return { apiVersion: `example.com/${version}`, kind: "Widget", metadata: { name }, spec };
}

async function served(
  registry: ReturnType<typeof createRegistry>["registry"],
  check: () => boolean,
): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(check(), "the CRD was not served in time");
  void registry;
}

function message(fn: () => unknown): string {
  try {
    fn();
    return "";
  } catch (e) {
    assert.ok(e instanceof StatusError, String(e));
    return e.message;
  }
}

test("custom resources are validated and defaulted in the request's version, and defaulted on read", async () => {
  const store = new MemoryStore();
  const { registry, custom } = createRegistry(store);
  try {
    const size = { type: "integer", minimum: 1 };
    registry.createSync(
      CRD_REF,
      "",
      crd(
        { size, mode: { type: "string" } },
        { size: { ...size, maximum: 5 }, mode: { type: "string", default: "fast" } },
      ),
    );
    await served(registry, () => custom.find("example.com", "v2", "widgets") !== undefined);

    // v2's maximum holds for writes in v2 only, as kube validates each version by its own schema.
    assert.equal(
      message(() => registry.createSync(ref("v2"), "default", widget("v2", "big", { size: 10 }))),
      'Widget.example.com "big" is invalid: spec.size: Invalid value: 10: spec.size in body should be less than or equal to 5',
    );
    registry.createSync(ref("v1"), "default", widget("v1", "big", { size: 10 }));
    assert.equal(
      message(() =>
        registry.patchSync(ref("v2"), "default", "big", "merge", { spec: { size: 11 } }),
      ),
      'Widget.example.com "big" is invalid: spec.size: Invalid value: 11: spec.size in body should be less than or equal to 5',
    );
    // v2's default is applied to a write in v2 only (v1 declares the field without a default).
    const made = registry.createSync(ref("v2"), "default", widget("v2", "small", { size: 2 }));
    assert.deepEqual(made.spec, { size: 2, mode: "fast" });
    const plain = registry.createSync(ref("v1"), "default", widget("v1", "plain", { size: 2 }));
    assert.deepEqual(plain.spec, { size: 2 });
    registry.deleteSync(ref("v1"), "default", "plain");

    // A default added to the storage version later shows on every read of older objects.
    const current = registry.getSync(CRD_REF, "", "widgets.example.com");
    const next = crd(
      { size, mode: { type: "string" }, color: { type: "string", default: "blue" } },
      { size: { ...size, maximum: 5 }, mode: { type: "string", default: "fast" } },
    );
    next.metadata = current.metadata;
    registry.updateSync(CRD_REF, "", next);
    await served(
      registry,
      () =>
        (registry.getSync(ref("v1"), "default", "big").spec as { color?: string }).color === "blue",
    );
    assert.deepEqual(registry.getSync(ref("v1"), "default", "big").spec, {
      size: 10,
      color: "blue",
    });
    assert.deepEqual(
      registry
        .listSync(ref("v1"), "default")
        .items.map((o) => (o.spec as { color?: string }).color),
      ["blue", "blue"],
    );
    assert.equal(
      (store.get("/example.com/widgets/default/big")!.spec as { color?: string }).color,
      undefined,
    );
  } finally {
    custom.stop();
  }
});
