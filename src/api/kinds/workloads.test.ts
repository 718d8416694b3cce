import assert from "node:assert/strict";
import { test } from "node:test";
import type { FieldError } from "../errors.ts";
import type { KubeObject } from "../types.ts";
import { controllerRevisionStrategy } from "./controllerrevision.ts";
import { daemonSetStrategy } from "./daemonset.ts";
import { deploymentStrategy } from "./deployment.ts";
import { replicaSetStrategy } from "./replicaset.ts";
import { replicationControllerStrategy } from "./replicationcontroller.ts";
import { STATEFULSET_UPDATE_FORBIDDEN, statefulSetStrategy } from "./statefulset.ts";
import type { KindStrategy } from "./types.ts";

const lines = (errs: FieldError[]) => errs.map((e) => `${e.field}: ${e.message}`);
const NOW = Date.parse("2026-01-01T01:00:00Z");

const templateDefaults = {
  metadata: { labels: { app: "web" } },
  spec: {
    containers: [
      {
        name: "web",
        image: "nginx:1.27",
        imagePullPolicy: "IfNotPresent",
        terminationMessagePath: "/dev/termination-log",
        terminationMessagePolicy: "File",
      },
    ],
    dnsPolicy: "ClusterFirst",
    restartPolicy: "Always",
    securityContext: {},
    terminationGracePeriodSeconds: 30,
    schedulerName: "default-scheduler",
  },
};

function workload(kind: string, spec: Record<string, unknown>): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind,
    metadata: {
      name: "web",
      namespace: "default",
      uid: "u1",
      creationTimestamp: "2026-01-01T00:00:00Z",
    },
    spec: {
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ name: "web", image: "nginx:1.27" }] },
      },
      ...spec,
    },
  };
}

function check(s: KindStrategy, obj: KubeObject): string[] {
  s.applyDefaults(obj);
  return lines(s.validate(obj));
}

test("deployment defaults are what rollout status and kubectl expect", () => {
  const d = workload("Deployment", {});
  deploymentStrategy.applyDefaults(d);
  assert.deepEqual(d.spec, {
    selector: { matchLabels: { app: "web" } },
    template: templateDefaults,
    replicas: 1,
    strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "25%", maxSurge: "25%" } },
    revisionHistoryLimit: 10,
    progressDeadlineSeconds: 600,
  });
  const recreate = workload("Deployment", { strategy: { type: "Recreate" }, replicas: 0 });
  deploymentStrategy.applyDefaults(recreate);
  assert.deepEqual((recreate.spec as Record<string, unknown>).strategy, { type: "Recreate" });
  assert.equal((recreate.spec as Record<string, unknown>).replicas, 0);
});

test("replicaset and statefulset defaults", () => {
  const rs = workload("ReplicaSet", {});
  replicaSetStrategy.applyDefaults(rs);
  assert.equal((rs.spec as Record<string, unknown>).replicas, 1);
  assert.deepEqual((rs.spec as Record<string, unknown>).template, templateDefaults);

  const sts = workload("StatefulSet", {
    serviceName: "web",
    volumeClaimTemplates: [
      {
        metadata: { name: "data" },
        spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
      },
    ],
  });
  statefulSetStrategy.applyDefaults(sts);
  assert.deepEqual(sts.spec, {
    selector: { matchLabels: { app: "web" } },
    template: templateDefaults,
    serviceName: "web",
    volumeClaimTemplates: [
      {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: { name: "data" },
        spec: {
          accessModes: ["ReadWriteOnce"],
          resources: { requests: { storage: "1Gi" } },
          volumeMode: "Filesystem",
        },
        status: { phase: "Pending" },
      },
    ],
    podManagementPolicy: "OrderedReady",
    updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 0 } },
    persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
    replicas: 1,
    revisionHistoryLimit: 10,
  });
  const onDelete = workload("StatefulSet", { updateStrategy: { type: "OnDelete" } });
  statefulSetStrategy.applyDefaults(onDelete);
  assert.deepEqual((onDelete.spec as Record<string, unknown>).updateStrategy, { type: "OnDelete" });
});

test("deployment validation reports kube's messages", () => {
  const cases: { spec: Record<string, unknown>; want: string[] }[] = [
    {
      spec: { replicas: -1 },
      want: ["spec.replicas: Invalid value: -1: must be greater than or equal to 0"],
    },
    {
      spec: { selector: { matchLabels: { app: "x" } } },
      want: [
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`',
      ],
    },
    { spec: { selector: undefined }, want: ["spec.selector: Required value"] },
    {
      spec: { selector: {} },
      want: [
        "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment",
      ],
    },
    {
      spec: { selector: { matchExpressions: [{ key: "app", operator: "In" }] } },
      want: [
        "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`',
      ],
    },
    {
      spec: {
        strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 0 } },
      },
      want: [
        'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:""}: may not be 0 when `maxSurge` is 0',
      ],
    },
    {
      spec: { strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "110%" } } },
      want: [
        'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:"110%"}: must not be greater than 100%',
      ],
    },
    {
      spec: { strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "lots" } } },
      want: [
        "spec.strategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"lots\"}: must be an integer or percentage (e.g '5%')",
      ],
    },
    {
      spec: { strategy: { type: "Recreate", rollingUpdate: {} } },
      want: [
        "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'",
      ],
    },
    {
      spec: { minReadySeconds: 700 },
      want: [
        "spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds",
      ],
    },
    {
      spec: {
        template: {
          metadata: { labels: { app: "web" } },
          spec: { containers: [{ name: "web" }], restartPolicy: "Never" },
        },
      },
      want: [
        "spec.template.spec.containers[0].image: Required value",
        'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"',
      ],
    },
    {
      spec: {
        template: {
          metadata: { labels: { app: "web", "bad key": "x" } },
          spec: { containers: [{ name: "web", image: "x" }] },
        },
      },
      want: [
        "spec.template.labels: Invalid value: \"bad key\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
      ],
    },
  ];
  for (const c of cases) {
    assert.deepEqual(
      check(deploymentStrategy, workload("Deployment", c.spec)),
      c.want,
      JSON.stringify(c.spec),
    );
  }
});

test("apps/v1 selectors are immutable", () => {
  const old = workload("Deployment", {});
  deploymentStrategy.applyDefaults(old);
  const scaled = structuredClone(old);
  (scaled.spec as Record<string, unknown>).replicas = 5;
  assert.deepEqual(lines(deploymentStrategy.validateUpdate(scaled, old)), []);
  const moved = structuredClone(old);
  (moved.spec as Record<string, unknown>).selector = { matchLabels: { app: "web", tier: "fe" } };
  (
    moved.spec as { template: { metadata: { labels: Record<string, string> } } }
  ).template.metadata.labels.tier = "fe";
  assert.deepEqual(lines(deploymentStrategy.validateUpdate(moved, old)), [
    'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web", "tier":"fe"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
  ]);
  const rsOld = workload("ReplicaSet", {});
  replicaSetStrategy.applyDefaults(rsOld);
  const rsMoved = structuredClone(rsOld);
  (rsMoved.spec as Record<string, unknown>).selector = { matchLabels: { app: "other" } };
  assert.equal(
    lines(replicaSetStrategy.validateUpdate(rsMoved, rsOld)).filter((l) =>
      l.endsWith("field is immutable"),
    ).length,
    1,
  );
});

test("statefulset validation and update rules", () => {
  assert.deepEqual(
    check(statefulSetStrategy, workload("StatefulSet", {})),
    [],
    "serviceName is optional",
  );
  assert.deepEqual(
    check(statefulSetStrategy, workload("StatefulSet", { serviceName: "Web_Svc" })),
    [
      `spec.serviceName: Invalid value: "Web_Svc": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
    ],
  );
  assert.deepEqual(
    check(statefulSetStrategy, workload("StatefulSet", { podManagementPolicy: "Random" })),
    [`spec.podManagementPolicy: Invalid value: "Random": must be 'OrderedReady' or 'Parallel'`],
  );
  assert.deepEqual(check(statefulSetStrategy, workload("StatefulSet", { selector: {} })), [
    "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for statefulset",
  ]);
  assert.deepEqual(
    check(
      statefulSetStrategy,
      workload("StatefulSet", { volumeClaimTemplates: [{ metadata: { name: "d" }, spec: {} }] }),
    ),
    [
      "spec.volumeClaimTemplates[0].spec.accessModes: Required value: at least 1 access mode is required",
      "spec.volumeClaimTemplates[0].spec.resources[storage]: Required value",
    ],
  );

  const old = workload("StatefulSet", { serviceName: "web" });
  statefulSetStrategy.applyDefaults(old);
  const allowed = structuredClone(old);
  const spec = allowed.spec as Record<string, unknown>;
  spec.replicas = 3;
  spec.updateStrategy = { type: "RollingUpdate", rollingUpdate: { partition: 2 } };
  (spec.template as { spec: { containers: { image: string }[] } }).spec.containers[0]!.image =
    "nginx:1.28";
  assert.deepEqual(lines(statefulSetStrategy.validateUpdate(allowed, old)), []);
  const renamed = structuredClone(old);
  (renamed.spec as Record<string, unknown>).serviceName = "other";
  assert.deepEqual(lines(statefulSetStrategy.validateUpdate(renamed, old)), [
    `spec: Forbidden: ${STATEFULSET_UPDATE_FORBIDDEN}`,
  ]);
  assert.equal(
    STATEFULSET_UPDATE_FORBIDDEN,
    "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
  );
});

test("workload rows match kubectl get columns", () => {
  const d = workload("Deployment", { replicas: 3 });
  deploymentStrategy.applyDefaults(d);
  d.status = { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 };
  assert.deepEqual(deploymentStrategy.row(d, NOW), [
    "web",
    "2/3",
    3,
    2,
    "60m",
    "web",
    "nginx:1.27",
    "app=web",
  ]);

  const rs = workload("ReplicaSet", {
    replicas: 2,
    selector: {
      matchLabels: { app: "web" },
      matchExpressions: [
        { key: "tier", operator: "NotIn", values: ["b", "a"] },
        { key: "canary", operator: "DoesNotExist" },
      ],
    },
  });
  rs.status = { replicas: 2, readyReplicas: 1 };
  assert.deepEqual(replicaSetStrategy.row(rs, NOW), [
    "web",
    2,
    2,
    1,
    "60m",
    "web",
    "nginx:1.27",
    "app=web,!canary,tier notin (a,b)",
  ]);

  const sts = workload("StatefulSet", { replicas: 3 });
  sts.status = { readyReplicas: 3 };
  assert.deepEqual(statefulSetStrategy.row(sts, NOW), ["web", "3/3", "60m", "web", "nginx:1.27"]);
  assert.deepEqual(replicaSetStrategy.selectableFields?.(rs), { "status.replicas": "2" });
});

test("controllerrevisions print their controller and keep data immutable", () => {
  const cr: KubeObject = {
    metadata: {
      name: "web-5d4f",
      namespace: "default",
      creationTimestamp: "2026-01-01T00:00:00Z",
      ownerReferences: [
        { apiVersion: "apps/v1", kind: "StatefulSet", name: "web", uid: "u", controller: true },
      ],
    },
    data: { spec: { template: {} } },
    revision: 2,
  };
  assert.deepEqual(controllerRevisionStrategy.row(cr, NOW), [
    "web-5d4f",
    "statefulset.apps/web",
    2,
    "60m",
  ]);
  assert.deepEqual(lines(controllerRevisionStrategy.validate({ ...cr, data: undefined })), [
    "data: Required value: data is mandatory",
  ]);
  const changed = { ...cr, data: { spec: { replicas: 2 } } };
  assert.deepEqual(lines(controllerRevisionStrategy.validateUpdate(changed, cr)), [
    'data: Invalid value: {"spec":{"replicas":2}}: field is immutable',
  ]);
});

test("deployments count annotation changes as generation changes and drop status on create", () => {
  const old = workload("Deployment", {});
  deploymentStrategy.applyDefaults(old);
  const annotated = structuredClone(old);
  annotated.metadata = {
    ...annotated.metadata,
    annotations: { "deployment.kubernetes.io/revision": "2" },
  };
  assert.equal(deploymentStrategy.generationChanged?.(annotated, old), true);
  const labelled = structuredClone(old);
  labelled.metadata = { ...labelled.metadata, labels: { a: "b" } };
  assert.equal(deploymentStrategy.generationChanged?.(labelled, old), false);
  const created = { ...structuredClone(old), status: { replicas: 9 } };
  deploymentStrategy.prepareForCreate?.(created);
  assert.equal(created.status, undefined);
});

test("statefulset validation lets containers mount a volumeClaimTemplate by name, and only those", () => {
  const sts = (mountName: string): KubeObject => ({
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: "web", namespace: "default" },
    spec: {
      serviceName: "nginx",
      selector: { matchLabels: { app: "nginx" } },
      template: {
        metadata: { labels: { app: "nginx" } },
        spec: {
          containers: [
            { name: "web", image: "node", volumeMounts: [{ name: mountName, mountPath: "/www" }] },
          ],
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: "www" },
          spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
        },
      ],
    },
  });
  const ok = sts("www");
  statefulSetStrategy.applyDefaults(ok);
  assert.deepEqual(statefulSetStrategy.validate(ok), []);
  const bad = sts("nope");
  statefulSetStrategy.applyDefaults(bad);
  assert.deepEqual(
    statefulSetStrategy.validate(bad).map((e) => `${e.field}: ${e.message}`),
    ['spec.template.spec.containers[0].volumeMounts[0].name: Not found: "nope"'],
  );
});

test("workload strategies drop gated pod fields from their templates unless the stored one uses them", () => {
  const gated = () => ({
    metadata: { labels: { app: "web" } },
    spec: {
      resources: { limits: { cpu: "1" } },
      hostUsers: false,
      containers: [{ name: "web", image: "nginx:1.27" }],
    },
  });
  const cases: Array<[string, KindStrategy, KubeObject]> = [
    ["Deployment", deploymentStrategy, workload("Deployment", { template: gated() })],
    ["ReplicaSet", replicaSetStrategy, workload("ReplicaSet", { template: gated() })],
    [
      "StatefulSet",
      statefulSetStrategy,
      workload("StatefulSet", { serviceName: "web", template: gated() }),
    ],
    ["DaemonSet", daemonSetStrategy, workload("DaemonSet", { template: gated() })],
    [
      "ReplicationController",
      replicationControllerStrategy,
      {
        apiVersion: "v1",
        kind: "ReplicationController",
        metadata: { name: "web", namespace: "default" },
        spec: { selector: { app: "web" }, template: gated() },
      },
    ],
  ];
  const templateSpec = (o: KubeObject) =>
    (o.spec as { template: { spec: Record<string, unknown> } }).template.spec;
  for (const [kind, strategy, obj] of cases) {
    const created = structuredClone(obj);
    strategy.applyDefaults(created);
    strategy.prepareForCreate?.(created);
    assert.equal(templateSpec(created).resources, undefined, `${kind} create`);
    assert.equal(templateSpec(created).hostUsers, undefined, `${kind} create`);
    assert.deepEqual(lines(strategy.validate(created)), [], kind);
    // An object stored while a gate was on keeps its field on update.
    const stored = structuredClone(obj);
    const updated = structuredClone(obj);
    strategy.prepareForUpdate?.(updated, stored);
    assert.deepEqual(templateSpec(updated).resources, { limits: { cpu: "1" } }, `${kind} update`);
    // And a stored object without it does not get it.
    const next = structuredClone(obj);
    strategy.prepareForUpdate?.(next, created);
    assert.equal(templateSpec(next).resources, undefined, `${kind} update without`);
  }
});
