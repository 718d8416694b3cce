import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../../api/types.ts";
import { crdStrategy } from "./_strategy.ts";

interface Spec {
  group?: string;
  scope?: string;
  names: { plural?: string; kind?: string; singular?: string; listKind?: string };
  versions: Array<{ name: string; schema?: unknown; [k: string]: unknown }>;
  conversion?: unknown;
}

function crd(mutate: (spec: Spec, obj: KubeObject) => void = () => {}): KubeObject {
  const obj: KubeObject = {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "crontabs.stable.example.com" },
    spec: {
      group: "stable.example.com",
      scope: "Namespaced",
      names: { plural: "crontabs", kind: "CronTab" },
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: "object" } },
        },
      ],
    },
  };
  mutate(obj.spec as unknown as Spec, obj);
  crdStrategy.applyDefaults(obj);
  return obj;
}

function errors(obj: KubeObject): string[] {
  return crdStrategy.validate(obj).map((e) => `${e.field}: ${e.message}`);
}

test("crdStrategy defaults singular, listKind and conversion as kube does", () => {
  const spec = crd().spec as unknown as Spec;
  assert.equal(spec.names.singular, "crontab");
  assert.equal(spec.names.listKind, "CronTabList");
  assert.deepEqual(spec.conversion, { strategy: "None" });
});

test("crdStrategy accepts a valid CRD and records its storage version", () => {
  const obj = crd();
  assert.deepEqual(errors(obj), []);
  crdStrategy.prepareForCreate?.(obj);
  assert.deepEqual(obj.status, { storedVersions: ["v1"] });
});

test("crdStrategy refuses invalid CRDs with kube's field paths and messages", () => {
  const cases: Array<[string, (spec: Spec, obj: KubeObject) => void, string]> = [
    [
      "wrong name",
      (_s, o) => {
        o.metadata.name = "crontabs.example.com";
      },
      'metadata.name: Invalid value: "crontabs.example.com": must be spec.names.plural+"."+spec.group',
    ],
    ["no scope", (s) => delete s.scope, "spec.scope: Required value"],
    [
      "bad scope",
      (s) => {
        s.scope = "Global";
      },
      'spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced"',
    ],
    ["no plural", (s) => delete s.names.plural, "spec.names.plural: Required value"],
    ["no kind", (s) => delete s.names.kind, "spec.names.kind: Required value"],
    [
      "two storage versions",
      (s) => {
        s.versions.push({ ...s.versions[0], name: "v2" });
      },
      'spec.versions: Invalid value: ["v1","v2"]: must have exactly one version marked as storage version',
    ],
    [
      "no schema",
      (s) => delete s.versions[0]?.schema,
      "spec.versions[0].schema.openAPIV3Schema: Required value: schemas are required",
    ],
    [
      "a schema error when every version shares the schema",
      (s) => {
        s.versions[0]!.schema = { openAPIV3Schema: { type: "object", properties: { a: {} } } };
      },
      "spec.validation.openAPIV3Schema.properties[a].type: Required value: must not be empty for specified object fields",
    ],
    [
      "a schema error in one version's own schema",
      (s) => {
        s.versions.push({
          name: "v2",
          served: true,
          storage: false,
          schema: { openAPIV3Schema: { type: "object", properties: { a: {} } } },
        });
      },
      "spec.versions[1].schema.openAPIV3Schema.properties[a].type: Required value: must not be empty for specified object fields",
    ],
    [
      "group without a dot",
      (s, o) => {
        s.group = "example";
        o.metadata.name = "crontabs.example";
      },
      'spec.group: Invalid value: "example": should be a domain with at least one dot',
    ],
  ];
  for (const [what, mutate, want] of cases) {
    assert.ok(
      errors(crd(mutate)).includes(want),
      `${what}: ${JSON.stringify(errors(crd(mutate)))}`,
    );
  }
});

test("crdStrategy prints NAME and CREATED AT as kube-apiserver's default table", () => {
  const obj = crd();
  obj.metadata.creationTimestamp = "2026-01-01T00:00:00Z";
  assert.deepEqual(
    crdStrategy.columns.map((c) => c.name),
    ["Name", "Created At"],
  );
  assert.deepEqual(crdStrategy.row(obj, 0), [
    "crontabs.stable.example.com",
    "2026-01-01T00:00:00Z",
  ]);
});
