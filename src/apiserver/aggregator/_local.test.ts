import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../../api/types.ts";
import { AUTOMANAGED_LABEL, localApiService, planLocal } from "./_local.ts";

const apps = localApiService({ group: "apps", version: "v1" }, "onstart");
const metrics = localApiService({ group: "metrics.k8s.io", version: "v1beta1" }, "onstart");
const crd = localApiService({ group: "stable.example.com", version: "v1" }, "true");

test("localApiService names version.group with kube-apiserver's priorities", () => {
  assert.equal(apps.metadata.name, "v1.apps");
  assert.deepEqual(apps.spec, {
    group: "apps",
    version: "v1",
    groupPriorityMinimum: 17800,
    versionPriority: 15,
  });
  const core = localApiService({ group: "", version: "v1" }, "onstart");
  assert.equal(core.metadata.name, "v1.");
  assert.deepEqual(core.spec, { version: "v1", groupPriorityMinimum: 18000, versionPriority: 1 });
  assert.deepEqual(crd.spec, {
    group: "stable.example.com",
    version: "v1",
    groupPriorityMinimum: 1000,
    versionPriority: 100,
  });
  assert.equal(crd.metadata.labels?.[AUTOMANAGED_LABEL], "true");
});

test("planLocal creates, restores and removes only loopkube's own local APIServices", () => {
  const stored = (obj: KubeObject, patch: Partial<KubeObject> = {}): KubeObject => ({
    ...structuredClone(obj),
    ...patch,
    metadata: { ...obj.metadata, resourceVersion: "5", ...(patch.metadata ?? {}) },
  });
  const metricsServer = stored(metrics, {
    metadata: { name: "v1beta1.metrics.k8s.io" },
    spec: {
      ...(metrics.spec as object),
      service: { name: "metrics-server", namespace: "kube-system" },
    },
  });
  const users = stored(localApiService({ group: "wardle.example.com", version: "v1" }, "onstart"), {
    metadata: { name: "v1.wardle.example.com", labels: {} },
  });
  const cases: Array<[string, KubeObject[], KubeObject[], string[]]> = [
    ["a fresh cluster", [apps, metrics], [], ["create v1.apps", "create v1beta1.metrics.k8s.io"]],
    ["nothing to do", [apps], [stored(apps)], []],
    [
      "a user's service-backed APIService replaces the local one",
      [apps, metrics],
      [stored(apps), metricsServer],
      [],
    ],
    [
      "a drifted spec is put back",
      [apps],
      [stored(apps, { spec: { ...(apps.spec as object), versionPriority: 1 } })],
      ["update v1.apps"],
    ],
    [
      "a CRD gone takes its APIService",
      [apps],
      [stored(apps), stored(crd)],
      ["delete v1.stable.example.com"],
    ],
    ["a user's local APIService is kept", [apps], [stored(apps), users], []],
    ["a user's service-backed one is never deleted", [], [metricsServer], []],
  ];
  for (const [what, wanted, have, want] of cases) {
    const plan = planLocal(wanted, have).map((a) =>
      a.op === "delete" ? `delete ${a.name}` : `${a.op} ${a.obj.metadata.name}`,
    );
    assert.deepEqual(plan, want, what);
  }
});
