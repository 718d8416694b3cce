import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isStatusError } from "../errors.ts";
import type { KubeObject } from "../types.ts";
import { BEFORE_FIRST_APPLY, serverSideApply } from "./apply.ts";
import { recordUpdate } from "./managed.ts";

const DEPLOY = { group: "apps", kind: "Deployment" };
const T0 = new Date("2026-01-01T00:00:00Z");
const T1 = new Date("2026-01-01T00:05:00Z");

function config(
  overrides: {
    replicas?: number;
    image?: string;
    env?: string[];
    labels?: Record<string, string>;
  } = {},
): KubeObject {
  const container: Record<string, unknown> = {
    name: "web",
    image: overrides.image ?? "nginx:1.25",
    ports: [{ containerPort: 80 }],
  };
  if (overrides.env)
    container.env = overrides.env.map((name) => ({ name, value: name.toLowerCase() }));
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "default", labels: overrides.labels ?? { app: "web" } },
    spec: {
      replicas: overrides.replicas ?? 2,
      selector: { matchLabels: { app: "web" } },
      template: { metadata: { labels: { app: "web" } }, spec: { containers: [container] } },
    },
  };
}

/** The stored form: what the registry keeps after a create (server fields added). */
function stored(obj: KubeObject): KubeObject {
  return {
    ...obj,
    metadata: {
      ...obj.metadata,
      uid: "u1",
      resourceVersion: "1",
      creationTimestamp: "2026-01-01T00:00:00Z",
    },
  };
}

function apply(
  live: KubeObject | undefined,
  applied: KubeObject,
  manager = "kubectl",
  force = false,
  now = T0,
) {
  return serverSideApply(live, applied, { manager, force, kind: DEPLOY, now: () => now });
}

function container(obj: KubeObject): Record<string, unknown> {
  const spec = obj.spec as { template: { spec: { containers: Array<Record<string, unknown>> } } };
  return spec.template.spec.containers[0]!;
}

describe("serverSideApply", () => {
  it("creates the object and records kube's FieldsV1 set for the applier", () => {
    const { object, managedFields } = apply(undefined, config());
    assert.equal((object.spec as { replicas: number }).replicas, 2);
    assert.deepEqual(managedFields, [
      {
        manager: "kubectl",
        operation: "Apply",
        apiVersion: "apps/v1",
        time: "2026-01-01T00:00:00Z",
        fieldsType: "FieldsV1",
        fieldsV1: {
          "f:metadata": { "f:labels": { "f:app": {} } },
          "f:spec": {
            "f:replicas": {},
            "f:selector": {},
            "f:template": {
              "f:metadata": { "f:labels": { "f:app": {} } },
              "f:spec": {
                "f:containers": {
                  'k:{"name":"web"}': {
                    ".": {},
                    "f:image": {},
                    "f:name": {},
                    "f:ports": {
                      'k:{"containerPort":80,"protocol":"TCP"}': { ".": {}, "f:containerPort": {} },
                    },
                  },
                },
              },
            },
          },
        },
      },
    ]);
    assert.deepEqual(object.metadata.managedFields, managedFields);
  });

  it("refuses a value owned by another manager with kube's 409 message", () => {
    const created = recordUpdate(undefined, stored(config()), {
      manager: "kubectl-client-side-apply",
      kind: DEPLOY,
      now: () => T0,
    });
    assert.throws(
      () => apply(created, config({ replicas: 3 })),
      (e: unknown) => {
        assert.ok(isStatusError(e, "Conflict"));
        assert.equal(e.code, 409);
        assert.equal(
          e.message,
          'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas',
        );
        assert.deepEqual(e.details?.causes, [
          {
            reason: "FieldManagerConflict",
            message: 'conflict with "kubectl-client-side-apply" using apps/v1',
            field: ".spec.replicas",
          },
        ]);
        return true;
      },
    );
  });

  it("lists several conflicts grouped by manager", () => {
    const created = recordUpdate(undefined, stored(config()), {
      manager: "kubectl-create",
      kind: DEPLOY,
      now: () => T0,
    });
    assert.throws(() => apply(created, config({ replicas: 3, image: "nginx:2" })), {
      message:
        'Apply failed with 2 conflicts: conflicts with "kubectl-create" using apps/v1:\n' +
        '- .spec.replicas\n- .spec.template.spec.containers[name="web"].image',
    });
  });

  it("takes ownership on force and leaves the old owner the rest", () => {
    const created = recordUpdate(undefined, stored(config()), {
      manager: "kubectl-create",
      kind: DEPLOY,
      now: () => T0,
    });
    const { object, managedFields } = apply(created, config({ replicas: 3 }), "kubectl", true, T1);
    assert.equal((object.spec as { replicas: number }).replicas, 3);
    const create = managedFields.find((m) => m.manager === "kubectl-create");
    assert.ok(create);
    const spec = (create.fieldsV1 as Record<string, Record<string, unknown>>)["f:spec"];
    assert.ok(spec && !("f:replicas" in spec), "kubectl-create must lose .spec.replicas");
    assert.ok(spec && "f:template" in spec);
    assert.equal(managedFields[0]?.manager, "kubectl", "Apply entries sort first");
    assert.equal(managedFields[0]?.time, "2026-01-01T00:05:00Z");
  });

  it("shares a field applied with the value it already has", () => {
    const created = recordUpdate(undefined, stored(config()), {
      manager: "kubectl-create",
      kind: DEPLOY,
      now: () => T0,
    });
    const { managedFields } = apply(created, config());
    for (const m of managedFields) {
      const spec = (m.fieldsV1 as Record<string, Record<string, unknown>>)["f:spec"];
      assert.ok(spec && "f:replicas" in spec, `${m.manager} must still own .spec.replicas`);
    }
  });

  it("removes fields the applier stopped applying, unless another manager owns them", () => {
    const first = apply(
      undefined,
      config({ env: ["A", "B"], labels: { app: "web", x: "1", y: "1" } }),
    ).object;
    // Another writer takes label y (same value: it becomes a co-owner through an update).
    const touched = recordUpdate(
      first,
      { ...first, metadata: { ...first.metadata, labels: { app: "web", x: "1", y: "2" } } },
      { manager: "kubectl-label", kind: DEPLOY, now: () => T0 },
    );
    const { object } = apply(
      touched,
      config({ env: ["A"], labels: { app: "web" } }),
      "kubectl",
      false,
      T1,
    );
    assert.deepEqual(object.metadata.labels, { app: "web", y: "2" });
    assert.deepEqual(container(object).env, [{ name: "A", value: "a" }]);
  });

  it("drops a map the prune leaves empty, as omitempty does in kube", () => {
    const withNote = config();
    withNote.metadata.annotations = { note: "x" };
    const first = apply(undefined, withNote).object;
    const { object } = apply(first, config(), "kubectl", false, T1);
    assert.equal("annotations" in object.metadata, false);
  });

  it("creates a before-first-apply owner for an untracked live object", () => {
    const live = stored(config());
    assert.throws(() => apply(live, config({ replicas: 5 })), {
      message: `Apply failed with 1 conflict: conflict with "${BEFORE_FIRST_APPLY}" using apps/v1: .spec.replicas`,
    });
    const { managedFields } = apply(live, config());
    assert.deepEqual(
      managedFields.map((m) => [m.manager, m.operation]),
      [
        ["kubectl", "Apply"],
        [BEFORE_FIRST_APPLY, "Update"],
      ],
    );
  });

  it("is a no-op when the same configuration is applied again", () => {
    const first = apply(undefined, config()).object;
    const again = apply(first, config(), "kubectl", false, T1).object;
    assert.deepEqual(again, first);
  });

  it("keeps untracked server fields and does not merge status", () => {
    const live = { ...stored(config()), status: { replicas: 2 } };
    const applied = { ...config({ replicas: 4 }), status: { replicas: 99 } };
    // before-first-apply co-owns .spec.replicas after the first apply, hence force.
    const { object } = apply(apply(live, config()).object, applied, "kubectl", true);
    assert.equal(object.metadata.uid, "u1");
    assert.equal(object.metadata.resourceVersion, "1");
    assert.deepEqual(object.status, { replicas: 2 });
    assert.equal((object.spec as { replicas: number }).replicas, 4);
  });

  it("merges associative lists in applied order and keeps live-only elements in place", () => {
    const live: KubeObject = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p" },
      spec: { containers: [{ name: "a" }, { name: "b" }, { name: "c" }] },
    };
    const tracked = recordUpdate(undefined, live, {
      manager: "creator",
      kind: { group: "", kind: "Pod" },
      now: () => T0,
    });
    const { object } = serverSideApply(
      tracked,
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "p" },
        spec: { containers: [{ name: "c" }, { name: "a" }] },
      },
      { manager: "kubectl", force: false, kind: { group: "", kind: "Pod" }, now: () => T1 },
    );
    assert.deepEqual(
      (object.spec as { containers: Array<{ name: string }> }).containers.map((c) => c.name),
      ["b", "c", "a"],
    );
  });

  it("tracks finalizers as a set with v: members", () => {
    const applied: KubeObject = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "c", finalizers: ["a/b"] },
    };
    const { managedFields } = serverSideApply(undefined, applied, {
      manager: "m",
      force: false,
      kind: { group: "", kind: "ConfigMap" },
      now: () => T0,
    });
    assert.deepEqual(managedFields[0]?.fieldsV1, {
      "f:metadata": { "f:finalizers": { 'v:"a/b"': {} } },
    });
  });

  it("refuses an apply configuration that carries managedFields", () => {
    const bad = config();
    bad.metadata.managedFields = [{ manager: "x" }];
    assert.throws(
      () => apply(undefined, bad),
      (e: unknown) => isStatusError(e, "BadRequest"),
    );
  });

  it("refuses an associative list element without its key", () => {
    const bad = config();
    container(bad).name = undefined;
    delete container(bad).name;
    assert.throws(() => apply(undefined, bad), {
      message:
        'associative list with keys has an element that omits key field "name" (and doesn\'t have default value)',
    });
  });
});
