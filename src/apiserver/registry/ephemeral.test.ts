import assert from "node:assert/strict";
import { test } from "node:test";
import { isStatusError, type StatusError } from "../../api/errors.ts";
import { REFS, sub } from "../../api/refs.ts";
import type { KubeObject } from "../../api/types.ts";
import { openStore } from "../../store/index.ts";
import { createRegistry } from "../index.ts";

const EC = sub(REFS.pods, "ephemeralcontainers");

function setup(annotations?: Record<string, string>) {
  const { registry } = createRegistry(openStore({ backend: "memory" }));
  registry.createSync(REFS.pods, "default", {
    metadata: { name: "p", ...(annotations ? { annotations } : {}) },
    spec: {
      initContainers: [{ name: "init", image: "x" }],
      containers: [{ name: "app", image: "x" }],
    },
  } as unknown as KubeObject);
  const add = (...containers: object[]) =>
    registry.patchSync(EC, "default", "p", "strategic", {
      spec: { ephemeralContainers: containers },
    });
  return { registry, add };
}

const refusal = (fn: () => unknown): StatusError => {
  try {
    fn();
  } catch (e) {
    if (isStatusError(e)) return e;
    throw e;
  }
  throw new Error("expected a refusal");
};

const dbg = { name: "dbg", image: "busybox", command: ["sh"], targetContainerName: "app" };

test("a strategic patch of pods/ephemeralcontainers adds a defaulted ephemeral container", () => {
  const { registry, add } = setup();
  const pod = add(dbg);
  const ec = (pod.spec as { ephemeralContainers: Record<string, unknown>[] })
    .ephemeralContainers[0];
  assert.equal(ec?.name, "dbg");
  assert.equal(ec?.imagePullPolicy, "Always");
  assert.equal(ec?.terminationMessagePolicy, "File");
  const read = registry.getSync(EC, "default", "p");
  assert.deepEqual(read, pod);
});

test("the ephemeralcontainers subresource changes nothing but the ephemeral containers", () => {
  const { registry } = setup();
  const pod = registry.getSync(REFS.pods, "default", "p");
  const changed = structuredClone(pod) as KubeObject & { spec: Record<string, unknown> };
  changed.metadata.labels = { sneaky: "yes" };
  changed.spec.activeDeadlineSeconds = 5;
  changed.spec.ephemeralContainers = [dbg];
  const stored = registry.updateSync(EC, "default", changed, { name: "p" });
  assert.equal(stored.metadata.labels, undefined);
  assert.equal((stored.spec as Record<string, unknown>).activeDeadlineSeconds, undefined);
  assert.equal((stored.spec as { ephemeralContainers: unknown[] }).ephemeralContainers.length, 1);
});

test("ephemeral containers are refused as kube refuses them", () => {
  const cases: { why: string; containers: object[]; first?: object; want: string[] }[] = [
    {
      why: "a name used by an app container",
      containers: [{ ...dbg, name: "app" }],
      want: ['spec.ephemeralContainers[0].name: Duplicate value: "app"'],
    },
    {
      why: "a target that is not a container",
      containers: [{ ...dbg, targetContainerName: "nope" }],
      want: ['spec.ephemeralContainers[0].targetContainerName: Not found: "nope"'],
    },
    {
      why: "fields of a workload container",
      containers: [
        {
          ...dbg,
          ports: [{ containerPort: 80 }],
          resources: { limits: { cpu: "1" } },
          readinessProbe: { exec: { command: ["true"] } },
          lifecycle: { preStop: { exec: { command: ["true"] } } },
        },
      ],
      want: [
        "spec.ephemeralContainers[0].ports: Forbidden: cannot be set for an Ephemeral Container",
        "spec.ephemeralContainers[0].resources: Forbidden: cannot be set for an Ephemeral Container",
        "spec.ephemeralContainers[0].readinessProbe: Forbidden: cannot be set for an Ephemeral Container",
        "spec.ephemeralContainers[0].lifecycle: Forbidden: cannot be set for an Ephemeral Container",
      ],
    },
    {
      why: "a removed ephemeral container",
      first: dbg,
      containers: [{ ...dbg, name: "other" }],
      want: [
        'spec.ephemeralContainers: Forbidden: existing ephemeral containers "dbg" may not be removed\n',
      ],
    },
    {
      why: "a changed ephemeral container",
      first: dbg,
      containers: [{ ...dbg, image: "alpine" }],
      want: [
        'spec.ephemeralContainers: Forbidden: existing ephemeral containers "dbg" may not be changed\n',
      ],
    },
  ];
  for (const c of cases) {
    const { registry, add } = setup();
    if (c.first) add(c.first);
    const e = refusal(() => {
      const pod = structuredClone(registry.getSync(REFS.pods, "default", "p")) as KubeObject & {
        spec: Record<string, unknown>;
      };
      pod.spec.ephemeralContainers = c.containers;
      return registry.updateSync(EC, "default", pod, { name: "p" });
    });
    assert.equal(e.code, 422, c.why);
    const causes = (e.details?.causes ?? []).map((x) => `${x.field}: ${x.message}`);
    assert.deepEqual(causes, c.want, c.why);
  }
});

test("ephemeral containers may not be set on create nor through the pod itself", () => {
  const { registry } = setup();
  const onCreate = refusal(() =>
    registry.createSync(REFS.pods, "default", {
      metadata: { name: "q" },
      spec: { containers: [{ name: "app", image: "x" }], ephemeralContainers: [dbg] },
    } as unknown as KubeObject),
  );
  assert.match(onCreate.message, /spec.ephemeralContainers: Forbidden: cannot be set on create/);
  const pod = structuredClone(registry.getSync(REFS.pods, "default", "p")) as KubeObject & {
    spec: Record<string, unknown>;
  };
  pod.spec.ephemeralContainers = [dbg];
  const onUpdate = refusal(() => registry.updateSync(REFS.pods, "default", pod, { name: "p" }));
  assert.match(onUpdate.message, /pod updates may not change fields/);
});

test("a static pod takes no ephemeral containers", () => {
  const { add } = setup({ "kubernetes.io/config.mirror": "abc" });
  const e = refusal(() => add(dbg));
  assert.match(e.message, /static pods do not support ephemeral containers/);
});
