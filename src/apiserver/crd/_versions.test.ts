import assert from "node:assert/strict";
import { test } from "node:test";
import { compareVersions } from "./_versions.ts";

test("compareVersions orders versions by Kubernetes' version priority", () => {
  const sorted = [
    "v1alpha1",
    "foo",
    "v2beta1",
    "v1",
    "v11alpha2",
    "v2",
    "v1beta1",
    "bar",
    "v12alpha1",
  ];
  assert.deepEqual(sorted.sort(compareVersions), [
    "v2",
    "v1",
    "v2beta1",
    "v1beta1",
    "v12alpha1",
    "v11alpha2",
    "v1alpha1",
    "bar",
    "foo",
  ]);
});
