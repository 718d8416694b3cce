import assert from "node:assert/strict";
import { test } from "node:test";
import { isStatusError } from "../../api/errors.ts";
import { REFS, sub } from "../../api/refs.ts";
import type { KubeObject } from "../../api/types.ts";
import { openStore } from "../../store/index.ts";
import { createRegistry } from "../index.ts";

function setup(hard: Record<string, string>, used: Record<string, string>) {
  const { registry } = createRegistry(openStore({ backend: "memory" }));
  registry.createSync(REFS.resourcequotas, "default", {
    metadata: { name: "q" },
    spec: { hard },
  } as KubeObject);
  const stored = registry.getSync(REFS.resourcequotas, "default", "q");
  registry.updateSync(sub(REFS.resourcequotas, "status"), "default", {
    ...stored,
    status: { hard, used },
  });
  const used_ = () =>
    (registry.getSync(REFS.resourcequotas, "default", "q").status as { used: object }).used;
  const make = (ref: typeof REFS.pods, obj: object, dryRun = false) =>
    registry.createSync(ref, "default", obj as KubeObject, { dryRun });
  return { registry, used: used_, make };
}

const pod = (name: string, cpu?: string) => ({
  metadata: { name },
  spec: {
    containers: [
      {
        name: "c",
        image: "x",
        ...(cpu ? { resources: { requests: { cpu }, limits: { cpu } } } : {}),
      },
    ],
  },
});

test("an admitted create is charged to the quota in the same step; dry runs are not", () => {
  const { used, make } = setup(
    { pods: "2", "requests.cpu": "1" },
    { pods: "0", "requests.cpu": "0" },
  );
  make(REFS.pods, pod("a", "300m"));
  assert.deepEqual(used(), { pods: "1", "requests.cpu": "300m" });
  make(REFS.pods, pod("b", "300m"), true);
  assert.deepEqual(used(), { pods: "1", "requests.cpu": "300m" });
});

test("a create over the quota is refused with kube's 403 and charges nothing", () => {
  const { used, make } = setup(
    { pods: "2", "requests.cpu": "1" },
    { pods: "1", "requests.cpu": "800m" },
  );
  try {
    make(REFS.pods, pod("big", "300m"));
    assert.fail("admitted");
  } catch (e) {
    assert.ok(isStatusError(e, "Forbidden"));
    assert.equal(
      e.message,
      'pods "big" is forbidden: exceeded quota: q, requested: requests.cpu=300m, used: requests.cpu=800m, limited: requests.cpu=1',
    );
  }
  assert.deepEqual(used(), { pods: "1", "requests.cpu": "800m" });
});

test("a create that fails after admission gives its charge back", () => {
  const { registry, used, make } = setup({ "count/configmaps": "5" }, { "count/configmaps": "0" });
  make(REFS.configmaps, { metadata: { name: "c" } });
  assert.deepEqual(used(), { "count/configmaps": "1" });
  // A later step refuses the write after the quota charged it.
  registry.ctx.admission.push({
    create() {
      throw new Error("refused later");
    },
  });
  assert.throws(() => make(REFS.configmaps, { metadata: { name: "d" } }), /refused later/);
  assert.deepEqual(used(), { "count/configmaps": "1" });
});
