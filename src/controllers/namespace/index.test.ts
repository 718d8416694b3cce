import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../../api/types.ts";
import { namespacedCustomResources } from "./index.ts";

function crd(name: string, spec: object, established = true): KubeObject {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name },
    spec,
    status: { conditions: [{ type: "Established", status: established ? "True" : "False" }] },
  } as KubeObject;
}

test("namespacedCustomResources names the served version of each Established namespaced CRD", () => {
  const versions = [
    { name: "v1beta1", served: true, storage: false },
    { name: "v1", served: true, storage: true },
  ];
  const crds = [
    crd("as.x.io", { group: "x.io", scope: "Namespaced", names: { plural: "as" }, versions }),
    crd("bs.x.io", { group: "x.io", scope: "Cluster", names: { plural: "bs" }, versions }),
    crd(
      "cs.x.io",
      { group: "x.io", scope: "Namespaced", names: { plural: "cs" }, versions },
      false,
    ),
    crd("ds.x.io", {
      group: "x.io",
      scope: "Namespaced",
      names: { plural: "ds" },
      versions: [
        { name: "v2", served: true, storage: false },
        { name: "v3", served: false, storage: true },
      ],
    }),
  ];
  assert.deepEqual(namespacedCustomResources(crds), [
    { group: "x.io", version: "v1", resource: "as" },
    { group: "x.io", version: "v2", resource: "ds" },
  ]);
});
