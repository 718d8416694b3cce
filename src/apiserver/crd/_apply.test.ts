import assert from "node:assert/strict";
import { test } from "node:test";
import { type StatusError, serverSideApply } from "../../api/patch/index.ts";
import type { KubeObject } from "../../api/types.ts";
import { applySchema } from "./_apply.ts";
import type { JsonSchema } from "./_schema.ts";

const SCHEMA: JsonSchema = {
  type: "object",
  properties: {
    spec: {
      type: "object",
      properties: {
        ports: {
          type: "array",
          "x-kubernetes-list-type": "map",
          "x-kubernetes-list-map-keys": ["name", "protocol"],
          items: {
            type: "object",
            properties: {
              name: { type: "string" },
              protocol: { type: "string", default: "TCP" },
              port: { type: "integer" },
            },
          },
        },
        tags: { type: "array", "x-kubernetes-list-type": "set", items: { type: "string" } },
        plain: { type: "array", items: { type: "string" } },
        selector: {
          type: "object",
          "x-kubernetes-map-type": "atomic",
          additionalProperties: { type: "string" },
        },
        labels: { type: "object", additionalProperties: { type: "string" } },
      },
    },
  },
};
const KIND = { group: "example.com", kind: "Widget" };
const schema = applySchema(SCHEMA);

function widget(spec: Record<string, unknown>): KubeObject {
  return { apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" }, spec };
}

function apply(live: KubeObject | undefined, spec: Record<string, unknown>, manager: string) {
  return serverSideApply(live, widget(spec), {
    manager,
    force: false,
    kind: KIND,
    schema,
    now: () => new Date("2026-01-01T00:00:00Z"),
  }).object;
}

test("applySchema merges map lists by their keys and set lists as unions between managers", () => {
  let live = apply(
    undefined,
    { ports: [{ name: "http", port: 80 }], tags: ["a"], labels: { a: "1" } },
    "alice",
  );
  live = apply(
    live,
    { ports: [{ name: "metrics", port: 9090 }], tags: ["b"], labels: { b: "2" } },
    "bob",
  );
  const spec = live.spec as Record<string, unknown>;
  assert.deepEqual(spec.ports, [
    { name: "http", port: 80 },
    { name: "metrics", port: 9090 },
  ]);
  assert.deepEqual(spec.tags, ["a", "b"]);
  assert.deepEqual(spec.labels, { a: "1", b: "2" });
});

test("applySchema makes conflicts per list element key and atomic lists and maps whole", () => {
  const live = apply(
    undefined,
    { ports: [{ name: "http", port: 80 }], plain: ["x"], selector: { app: "a" } },
    "alice",
  );
  const conflict = (spec: Record<string, unknown>) => {
    try {
      apply(live, spec, "bob");
      return "";
    } catch (e) {
      return (e as StatusError).message;
    }
  };
  // The element keyed by name=http and the default protocol TCP is alice's.
  assert.equal(
    conflict({ ports: [{ name: "http", protocol: "TCP", port: 81 }] }),
    'Apply failed with 1 conflict: conflict with "alice": .spec.ports[name="http",protocol="TCP"].port',
  );
  assert.equal(conflict({ ports: [{ name: "http", protocol: "UDP", port: 81 }] }), "");
  assert.equal(
    conflict({ plain: ["y"] }),
    'Apply failed with 1 conflict: conflict with "alice": .spec.plain',
  );
  assert.equal(
    conflict({ selector: { other: "b" } }),
    'Apply failed with 1 conflict: conflict with "alice": .spec.selector',
  );
});

test("applySchema keeps ObjectMeta's merge rules for metadata", () => {
  const node = applySchema({ type: "object", properties: { metadata: { type: "object" } } });
  assert.deepEqual(node.fields?.get("metadata")?.fields?.get("finalizers")?.rule, {
    primitiveMerge: true,
  });
});
