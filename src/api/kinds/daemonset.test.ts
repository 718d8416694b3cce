import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../types.ts";
import { daemonSetStrategy, TEMPLATE_GENERATION } from "./daemonset.ts";

const NOW = Date.parse("2026-01-01T01:00:00Z");

function ds(spec: Record<string, unknown> = {}, annotations?: Record<string, string>): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: {
      name: "agent",
      namespace: "default",
      creationTimestamp: "2026-01-01T00:00:00Z",
      ...(annotations ? { annotations } : {}),
    },
    spec: {
      selector: { matchLabels: { app: "agent" } },
      template: {
        metadata: { labels: { app: "agent" } },
        spec: { containers: [{ name: "agent", image: "busybox:1.36" }] },
      },
      ...spec,
    },
  };
}

function created(obj: KubeObject): KubeObject {
  daemonSetStrategy.applyDefaults(obj);
  daemonSetStrategy.prepareForCreate?.(obj);
  return obj;
}

const errors = (obj: KubeObject) =>
  daemonSetStrategy.validate(created(obj)).map((e) => `${e.field}: ${e.message}`);

test("daemonSetStrategy defaults RollingUpdate 1/0 and a history of 10", () => {
  const obj = created(ds());
  const spec = obj.spec as Record<string, unknown>;
  assert.deepEqual(spec.updateStrategy, {
    type: "RollingUpdate",
    rollingUpdate: { maxUnavailable: 1, maxSurge: 0 },
  });
  assert.equal(spec.revisionHistoryLimit, 10);
  const template = spec.template as { spec: Record<string, unknown> };
  assert.equal(template.spec.restartPolicy, "Always");
  assert.equal(template.spec.dnsPolicy, "ClusterFirst");
  const onDelete = created(ds({ updateStrategy: { type: "OnDelete" } }));
  assert.deepEqual((onDelete.spec as Record<string, unknown>).updateStrategy, { type: "OnDelete" });
});

test("daemonSetStrategy validates with kube's messages", () => {
  const cases: Array<[string, KubeObject, string[]]> = [
    ["valid", ds(), []],
    [
      "empty selector",
      ds({ selector: {} }),
      [
        "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for daemonset",
      ],
    ],
    [
      "selector not matching the template",
      ds({ selector: { matchLabels: { app: "other" } } }),
      [
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"agent"}: `selector` does not match template `labels`',
      ],
    ],
    [
      "surge and unavailable both set",
      ds({
        updateStrategy: {
          type: "RollingUpdate",
          rollingUpdate: { maxUnavailable: 1, maxSurge: "10%" },
        },
      }),
      [
        'spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"10%"}: may not be set when maxUnavailable is non-zero',
      ],
    ],
    [
      "neither surge nor unavailable",
      ds({
        updateStrategy: {
          type: "RollingUpdate",
          rollingUpdate: { maxUnavailable: 0, maxSurge: 0 },
        },
      }),
      [
        "spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0",
      ],
    ],
    [
      "over 100%",
      ds({
        updateStrategy: {
          type: "RollingUpdate",
          rollingUpdate: { maxUnavailable: "150%", maxSurge: 0 },
        },
      }),
      [
        'spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"150%"}: must not be greater than 100%',
      ],
    ],
    [
      "unknown strategy",
      ds({ updateStrategy: { type: "Recreate" } }),
      [
        'spec.updateStrategy: Unsupported value: {"type":"Recreate"}: supported values: "RollingUpdate", "OnDelete"',
      ],
    ],
    [
      "negative minReadySeconds and history",
      ds({ minReadySeconds: -1, revisionHistoryLimit: -2 }),
      [
        "spec.minReadySeconds: Invalid value: -1: must be greater than or equal to 0",
        "spec.revisionHistoryLimit: Invalid value: -2: must be greater than or equal to 0",
      ],
    ],
    [
      "restartPolicy other than Always",
      ds({
        template: {
          metadata: { labels: { app: "agent" } },
          spec: { restartPolicy: "Never", containers: [{ name: "a", image: "x" }] },
        },
      }),
      ['spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"'],
    ],
  ];
  for (const [name, obj, want] of cases) assert.deepEqual(errors(obj), want, name);
});

test("daemonSetStrategy keeps the selector immutable", () => {
  const old = created(ds());
  const next = created(ds({ selector: { matchLabels: { app: "agent", tier: "x" } } }));
  (
    next.spec as { template: { metadata: { labels: Record<string, string> } } }
  ).template.metadata.labels.tier = "x";
  const errs = daemonSetStrategy.validateUpdate(next, old).map((e) => `${e.field}: ${e.message}`);
  assert.ok(
    errs.some(
      (e) => e.startsWith("spec.selector: Invalid value:") && e.endsWith("field is immutable"),
    ),
    errs.join("\n"),
  );
});

test("daemonSetStrategy owns the template generation annotation", () => {
  const first = created(ds());
  assert.equal(first.metadata.annotations?.[TEMPLATE_GENERATION], "1");
  const kept = created(ds({}, { [TEMPLATE_GENERATION]: "4" }));
  assert.equal(kept.metadata.annotations?.[TEMPLATE_GENERATION], "4");

  // [case, the update, the annotation after]
  const cases: Array<[string, KubeObject, string]> = [
    ["same template, annotation dropped by the client", ds(), "1"],
    [
      "same template, annotation changed by the client",
      ds({}, { [TEMPLATE_GENERATION]: "9" }),
      "1",
    ],
    [
      "new image",
      ds({
        template: {
          metadata: { labels: { app: "agent" } },
          spec: { containers: [{ name: "agent", image: "busybox:1.37" }] },
        },
      }),
      "2",
    ],
    ["only the update strategy", ds({ updateStrategy: { type: "OnDelete" } }), "1"],
  ];
  for (const [name, next, want] of cases) {
    daemonSetStrategy.prepareForUpdate?.(next, first);
    assert.equal(next.metadata.annotations?.[TEMPLATE_GENERATION], want, name);
  }
});

test("daemonSetStrategy drops gated pod fields from the template", () => {
  const obj = ds({
    template: {
      metadata: { labels: { app: "agent" } },
      spec: {
        resources: { limits: { cpu: "1" } },
        containers: [{ name: "agent", image: "busybox:1.36" }],
      },
    },
  });
  created(obj);
  const spec = (obj.spec as { template: { spec: Record<string, unknown> } }).template.spec;
  assert.equal(spec.resources, undefined);
});

test("daemonSetStrategy prints kubectl get ds's columns", () => {
  const obj = created(
    ds({
      template: {
        metadata: { labels: { app: "agent" } },
        spec: {
          nodeSelector: { "kubernetes.io/os": "linux", disk: "ssd" },
          containers: [
            { name: "agent", image: "busybox:1.36" },
            { name: "side", image: "nginx:1" },
          ],
        },
      },
    }),
  );
  obj.status = {
    desiredNumberScheduled: 3,
    currentNumberScheduled: 3,
    numberReady: 2,
    updatedNumberScheduled: 1,
    numberAvailable: 2,
  };
  assert.deepEqual(
    daemonSetStrategy.columns.map((c) => (c.priority ? `${c.name}*` : c.name)),
    [
      "Name",
      "Desired",
      "Current",
      "Ready",
      "Up-to-date",
      "Available",
      "Node Selector",
      "Age",
      "Containers*",
      "Images*",
      "Selector*",
    ],
  );
  assert.deepEqual(daemonSetStrategy.row(obj, NOW), [
    "agent",
    3,
    3,
    2,
    1,
    2,
    "disk=ssd,kubernetes.io/os=linux",
    "60m",
    "agent,side",
    "busybox:1.36,nginx:1",
    "app=agent",
  ]);
  assert.equal(daemonSetStrategy.row(created(ds()), NOW)[6], "<none>");
});
