import assert from "node:assert/strict";
import { test } from "node:test";
import { isStatusError } from "../../api/errors.ts";
import type { KubeObject } from "../../api/types.ts";
import { MemoryStore } from "../../store/index.ts";
import { createRegistry } from "../index.ts";
import { mergeTolerations } from "./runtimeclass.ts";

const PODS = { group: "", version: "v1", resource: "pods" };
const CLASSES = { group: "scheduling.k8s.io", version: "v1", resource: "priorityclasses" };
const RUNTIMES = { group: "node.k8s.io", version: "v1", resource: "runtimeclasses" };

function registry() {
  return createRegistry(new MemoryStore()).registry;
}

function pod(name: string, spec: Record<string, unknown> = {}, meta: object = {}): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", ...meta },
    spec: { containers: [{ name: "c", image: "busybox" }], ...spec },
  };
}

function priorityClass(name: string, value: number, extra: object = {}): KubeObject {
  return {
    apiVersion: "scheduling.k8s.io/v1",
    kind: "PriorityClass",
    metadata: { name },
    value,
    ...extra,
  };
}

const specOf = (o: KubeObject) => o.spec as Record<string, unknown>;

test("the system PriorityClasses exist from the start and cannot be deleted", () => {
  const r = registry();
  const list = r.listSync(CLASSES, "").items;
  assert.deepEqual(
    list.map((pc) => [pc.metadata.name, pc.value, pc.preemptionPolicy]),
    [
      ["system-cluster-critical", 2_000_000_000, "PreemptLowerPriority"],
      ["system-node-critical", 2_000_001_000, "PreemptLowerPriority"],
    ],
  );
  assert.throws(
    () => r.deleteSync(CLASSES, "", "system-node-critical"),
    (e) =>
      isStatusError(e, "Forbidden") &&
      e.message ===
        'priorityclasses.scheduling.k8s.io "system-node-critical" is forbidden: this is a system priority class and cannot be deleted',
  );
});

test("Priority admission gives a pod its class's value and policy, or priority 0, as kube does", () => {
  const r = registry();
  r.createSync(CLASSES, "", priorityClass("high", 1000));
  r.createSync(CLASSES, "", priorityClass("polite", 500, { preemptionPolicy: "Never" }));
  // [case, pod spec, wanted priority, class name, preemption policy]
  const cases: Array<[string, Record<string, unknown>, number, string | undefined, string]> = [
    ["no class, no default", {}, 0, undefined, "PreemptLowerPriority"],
    ["a class", { priorityClassName: "high" }, 1000, "high", "PreemptLowerPriority"],
    ["a class that never preempts", { priorityClassName: "polite" }, 500, "polite", "Never"],
    [
      "a system class",
      { priorityClassName: "system-cluster-critical" },
      2_000_000_000,
      "system-cluster-critical",
      "PreemptLowerPriority",
    ],
    [
      "the computed value stated",
      { priorityClassName: "high", priority: 1000 },
      1000,
      "high",
      "PreemptLowerPriority",
    ],
  ];
  cases.forEach(([name, spec, priority, className, policy], i) => {
    const got = specOf(r.createSync(PODS, "default", pod(`p${i}`, spec)));
    assert.equal(got.priority, priority, name);
    assert.equal(got.priorityClassName, className, name);
    assert.equal(got.preemptionPolicy, policy, name);
  });
});

test("Priority admission refuses a missing class and a stated priority that differs, in kube's words", () => {
  const r = registry();
  r.createSync(CLASSES, "", priorityClass("high", 1000));
  const cases: Array<[string, KubeObject, string]> = [
    [
      "missing class",
      pod("x", { priorityClassName: "nope" }),
      'pods "x" is forbidden: no PriorityClass with name nope was found',
    ],
    [
      "missing class, generated name",
      pod("", { priorityClassName: "nope" }, { name: undefined, generateName: "web-5d8f-" }),
      'pods "web-5d8f-" is forbidden: no PriorityClass with name nope was found',
    ],
    [
      "stated priority",
      pod("y", { priorityClassName: "high", priority: 7 }),
      'pods "y" is forbidden: the integer value of priority (7) must not be provided in pod spec; priority admission controller computed 1000 from the given PriorityClass name',
    ],
    [
      "stated policy",
      pod("z", { priorityClassName: "high", preemptionPolicy: "Never" }),
      'pods "z" is forbidden: the string value of PreemptionPolicy (Never) must not be provided in pod spec; priority admission controller computed PreemptLowerPriority from the given PriorityClass name',
    ],
  ];
  for (const [name, p, message] of cases) {
    assert.throws(
      () => r.createSync(PODS, "default", p),
      (e) => isStatusError(e, "Forbidden") && e.code === 403 && e.message === message,
      name,
    );
  }
});

test("Priority admission: the global default applies to pods without a class, and there is only one", () => {
  const r = registry();
  r.createSync(CLASSES, "", priorityClass("normal", 100, { globalDefault: true }));
  const got = specOf(r.createSync(PODS, "default", pod("p")));
  assert.deepEqual([got.priorityClassName, got.priority], ["normal", 100]);
  assert.throws(
    () => r.createSync(CLASSES, "", priorityClass("other", 5, { globalDefault: true })),
    (e) =>
      isStatusError(e, "Forbidden") &&
      e.message ===
        'priorityclasses.scheduling.k8s.io "other" is forbidden: PriorityClass normal is already marked as default. Only one default can exist',
  );
  // Updating the default itself is fine.
  const normal = r.getSync(CLASSES, "", "normal");
  r.updateSync(CLASSES, "", { ...normal, description: "the usual" });
});

test("PriorityClass validation: reserved names, the user maximum, immutable value and policy", () => {
  const r = registry();
  const cases: Array<[string, KubeObject, string]> = [
    [
      "unknown system name",
      priorityClass("system-mine", 10),
      "PriorityClass.scheduling.k8s.io \"system-mine\" is invalid: metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-mine is not a known system priority class",
    ],
    [
      "too high",
      priorityClass("huge", 1_000_000_001),
      'PriorityClass.scheduling.k8s.io "huge" is invalid: value: Forbidden: maximum allowed value of a user defined priority is 1000000000',
    ],
    [
      "bad policy",
      priorityClass("odd", 1, { preemptionPolicy: "Sometimes" }),
      'PriorityClass.scheduling.k8s.io "odd" is invalid: preemptionPolicy: Unsupported value: "Sometimes": supported values: "PreemptLowerPriority", "Never"',
    ],
  ];
  for (const [name, pc, message] of cases) {
    assert.throws(
      () => r.createSync(CLASSES, "", pc),
      (e) => isStatusError(e, "Invalid") && e.message === message,
      name,
    );
  }
  const high = r.createSync(CLASSES, "", priorityClass("high", 10));
  assert.throws(
    () => r.updateSync(CLASSES, "", { ...high, value: 11 }),
    (e) =>
      isStatusError(e, "Invalid") &&
      /value: Forbidden: may not be changed in an update\./.test(e.message),
  );
  assert.throws(
    () => r.updateSync(CLASSES, "", { ...high, preemptionPolicy: "Never" }),
    (e) =>
      isStatusError(e, "Invalid") &&
      /preemptionPolicy: Invalid value: "Never": field is immutable/.test(e.message),
  );
});

test("DefaultTolerationSeconds admission adds the 300 s not-ready and unreachable tolerations unless given", () => {
  const r = registry();
  const notReady = {
    key: "node.kubernetes.io/not-ready",
    operator: "Exists",
    effect: "NoExecute",
    tolerationSeconds: 300,
  };
  const unreachable = {
    key: "node.kubernetes.io/unreachable",
    operator: "Exists",
    effect: "NoExecute",
    tolerationSeconds: 300,
  };
  const cases: Array<[string, unknown[] | undefined, unknown[]]> = [
    ["none", undefined, [notReady, unreachable]],
    [
      "own not-ready toleration kept",
      [
        {
          key: "node.kubernetes.io/not-ready",
          operator: "Exists",
          effect: "NoExecute",
          tolerationSeconds: 5,
        },
      ],
      [
        {
          key: "node.kubernetes.io/not-ready",
          operator: "Exists",
          effect: "NoExecute",
          tolerationSeconds: 5,
        },
        unreachable,
      ],
    ],
    ["tolerates everything", [{ operator: "Exists" }], [{ operator: "Exists" }]],
    [
      "another effect does not count",
      [{ key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoSchedule" }],
      [
        { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoSchedule" },
        notReady,
        unreachable,
      ],
    ],
  ];
  cases.forEach(([name, tolerations, want], i) => {
    const got = specOf(
      r.createSync(PODS, "default", pod(`t${i}`, tolerations ? { tolerations } : {})),
    );
    assert.deepEqual(got.tolerations, want, name);
  });
});

test("RuntimeClass admission applies the class's overhead and scheduling and refuses what kube refuses", () => {
  const r = registry();
  r.createSync(RUNTIMES, "", {
    apiVersion: "node.k8s.io/v1",
    kind: "RuntimeClass",
    metadata: { name: "gvisor" },
    handler: "simulated",
    overhead: { podFixed: { cpu: "250m", memory: "120Mi" } },
    scheduling: {
      nodeSelector: { sandbox: "yes" },
      tolerations: [{ key: "sandbox", operator: "Exists", effect: "NoSchedule" }],
    },
  });
  r.createSync(RUNTIMES, "", {
    apiVersion: "node.k8s.io/v1",
    kind: "RuntimeClass",
    metadata: { name: "plain" },
    handler: "process",
  });
  const got = specOf(
    r.createSync(
      PODS,
      "default",
      pod("g", { runtimeClassName: "gvisor", nodeSelector: { disk: "ssd" } }),
    ),
  );
  assert.deepEqual(got.overhead, { cpu: "250m", memory: "120Mi" });
  assert.deepEqual(got.nodeSelector, { disk: "ssd", sandbox: "yes" });
  // After the pod's own (here the default ones), as kube merges them.
  assert.deepEqual((got.tolerations as unknown[]).at(-1), {
    key: "sandbox",
    operator: "Exists",
    effect: "NoSchedule",
  });
  // The same overhead written otherwise is the same overhead.
  r.createSync(
    PODS,
    "default",
    pod("g2", { runtimeClassName: "gvisor", overhead: { cpu: "0.25", memory: "120Mi" } }),
  );
  const refused: Array<[string, KubeObject, string]> = [
    [
      "missing",
      pod("m", { runtimeClassName: "kata" }),
      'pods "m" is forbidden: pod rejected: RuntimeClass "kata" not found',
    ],
    [
      "other overhead",
      pod("o", { runtimeClassName: "gvisor", overhead: { cpu: "1" } }),
      `pods "o" is forbidden: pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead`,
    ],
    [
      "overhead without a class that has one",
      pod("n", { runtimeClassName: "plain", overhead: { cpu: "1" } }),
      'pods "n" is forbidden: pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead',
    ],
    [
      "selector conflict",
      pod("c", { runtimeClassName: "gvisor", nodeSelector: { sandbox: "no" } }),
      'pods "c" is forbidden: conflict: runtimeClass.scheduling.nodeSelector[sandbox] = yes; pod.spec.nodeSelector[sandbox] = no',
    ],
  ];
  for (const [name, p, message] of refused) {
    assert.throws(
      () => r.createSync(PODS, "default", p),
      (e) => isStatusError(e, "Forbidden") && e.message === message,
      name,
    );
  }
});

test("mergeTolerations keeps both lists in order and leaves out what another toleration covers", () => {
  const a = { key: "a", operator: "Exists" };
  const aNoSchedule = { key: "a", operator: "Exists", effect: "NoSchedule" };
  const bEqual = { key: "b", operator: "Equal", value: "1" };
  const all = { operator: "Exists" };
  const cases: Array<[string, object[], object[], object[]]> = [
    ["disjoint", [a], [bEqual], [a, bEqual]],
    ["duplicate", [a], [a], [a]],
    ["covered later", [aNoSchedule], [a], [a]],
    ["covered earlier", [a], [aNoSchedule], [a]],
    ["match-all covers every one", [a, bEqual], [all], [all]],
  ];
  for (const [name, first, second, want] of cases)
    assert.deepEqual(mergeTolerations(first, second), want, name);
});
