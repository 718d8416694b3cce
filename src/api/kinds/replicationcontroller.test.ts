import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../types.ts";
import { replicationControllerStrategy as strategy } from "./replicationcontroller.ts";

const NOW = Date.parse("2026-01-01T01:00:00Z");

function rc(spec: Record<string, unknown>, labels?: Record<string, string>): KubeObject {
  return {
    apiVersion: "v1",
    kind: "ReplicationController",
    metadata: {
      name: "nginx",
      namespace: "default",
      creationTimestamp: "2026-01-01T00:00:00Z",
      ...(labels ? { labels } : {}),
    },
    spec,
  };
}

const template = (labels: Record<string, string>, spec: Record<string, unknown> = {}) => ({
  metadata: { labels },
  spec: { containers: [{ name: "nginx", image: "nginx" }], ...spec },
});

function created(obj: KubeObject): KubeObject {
  strategy.applyDefaults(obj);
  strategy.prepareForCreate?.(obj);
  return obj;
}

test("replicationControllerStrategy defaults the selector and labels from the template, replicas 1", () => {
  const obj = created(rc({ template: template({ app: "nginx" }) }));
  const spec = obj.spec as Record<string, unknown>;
  assert.deepEqual(spec.selector, { app: "nginx" });
  assert.equal(spec.replicas, 1);
  assert.deepEqual(obj.metadata.labels, { app: "nginx" });
  assert.deepEqual(obj.status, { replicas: 0 });
  const own = created(
    rc({ selector: { app: "x" }, template: template({ app: "x", v: "1" }) }, { team: "a" }),
  );
  assert.deepEqual((own.spec as Record<string, unknown>).selector, { app: "x" });
  assert.deepEqual(own.metadata.labels, { team: "a" });
});

test("replicationControllerStrategy validates with kube's messages", () => {
  const cases: Array<[string, KubeObject, string[]]> = [
    ["valid", rc({ replicas: 3, template: template({ app: "nginx" }) }), []],
    ["no template", rc({ selector: { app: "nginx" } }), ["spec.template: Required value"]],
    [
      "selector not matching",
      rc({ selector: { app: "other" }, template: template({ app: "nginx" }) }),
      [
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"nginx"}: `selector` does not match template `labels`',
      ],
    ],
    [
      "negative replicas",
      rc({ replicas: -1, template: template({ app: "nginx" }) }),
      ["spec.replicas: Invalid value: -1: must be greater than or equal to 0"],
    ],
    [
      "restartPolicy Never",
      rc({ template: template({ app: "nginx" }, { restartPolicy: "Never" }) }),
      ['spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"'],
    ],
    [
      "activeDeadlineSeconds",
      rc({ template: template({ app: "nginx" }, { activeDeadlineSeconds: 5 }) }),
      [
        "spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in ReplicationController is not Supported",
      ],
    ],
  ];
  for (const [name, obj, want] of cases)
    assert.deepEqual(
      strategy.validate(created(obj)).map((e) => `${e.field}: ${e.message}`),
      want,
      name,
    );
  const noSelector = rc({ template: { spec: { containers: [{ name: "a", image: "x" }] } } });
  assert.ok(
    strategy
      .validate(created(noSelector))
      .some((e) => `${e.field}: ${e.message}` === "spec.selector: Required value"),
  );
});

test("replicationControllerStrategy lets the selector change, with the template", () => {
  const old = created(rc({ template: template({ app: "nginx" }) }));
  const next = created(rc({ selector: { app: "v2" }, template: template({ app: "v2" }) }));
  assert.deepEqual(strategy.validateUpdate(next, old), []);
});

test("replicationControllerStrategy prints kubectl get rc's columns", () => {
  const obj = created(rc({ replicas: 3, template: template({ app: "nginx" }) }));
  obj.status = { replicas: 3, readyReplicas: 2 };
  assert.deepEqual(
    strategy.columns.map((c) => (c.priority ? `${c.name}*` : c.name)),
    ["Name", "Desired", "Current", "Ready", "Age", "Containers*", "Images*", "Selector*"],
  );
  assert.deepEqual(strategy.row(obj, NOW), [
    "nginx",
    3,
    3,
    2,
    "60m",
    "nginx",
    "nginx",
    "app=nginx",
  ]);
});
