import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../types.ts";
import { kindStrategies, strategyFor } from "./index.ts";

const container = { name: "app", image: "busybox:1.36" };
const template = { metadata: { labels: { app: "web" } }, spec: { containers: [container] } };

/** A minimal valid object per resource, as a user would write it. */
const minimal: Record<string, KubeObject> = {
  namespaces: { metadata: { name: "team-a" } },
  pods: { metadata: { name: "p", namespace: "default" }, spec: { containers: [container] } },
  services: {
    metadata: { name: "web", namespace: "default" },
    spec: { selector: { app: "web" }, ports: [{ port: 80 }] },
  },
  endpoints: {
    metadata: { name: "web", namespace: "default" },
    subsets: [{ addresses: [{ ip: "127.244.0.5" }], ports: [{ port: 8080 }] }],
  },
  configmaps: { metadata: { name: "cfg", namespace: "default" }, data: { "app.conf": "x=1" } },
  secrets: { metadata: { name: "s", namespace: "default" }, data: { password: "aGk=" } },
  serviceaccounts: { metadata: { name: "default", namespace: "default" } },
  events: {
    metadata: { name: "web.1", namespace: "default" },
    involvedObject: { kind: "Pod", name: "p", namespace: "default" },
    reason: "Started",
    message: "Started container",
    type: "Normal",
  },
  nodes: { metadata: { name: "loopkube" } },
  persistentvolumeclaims: {
    metadata: { name: "data", namespace: "default" },
    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
  },
  persistentvolumes: {
    metadata: { name: "pv-1" },
    spec: {
      capacity: { storage: "1Gi" },
      accessModes: ["ReadWriteOnce"],
      hostPath: { path: "/tmp/x" },
    },
  },
  deployments: {
    metadata: { name: "web", namespace: "default" },
    spec: { selector: { matchLabels: { app: "web" } }, template },
  },
  replicasets: {
    metadata: { name: "web-1", namespace: "default" },
    spec: { selector: { matchLabels: { app: "web" } }, template },
  },
  statefulsets: {
    metadata: { name: "db", namespace: "default" },
    spec: { serviceName: "db", selector: { matchLabels: { app: "web" } }, template },
  },
  jobs: {
    metadata: { name: "pi", namespace: "default", uid: "u1" },
    spec: { template: { spec: { containers: [container], restartPolicy: "Never" } } },
  },
  cronjobs: {
    metadata: { name: "hello", namespace: "default" },
    spec: {
      schedule: "*/5 * * * *",
      jobTemplate: {
        spec: { template: { spec: { containers: [container], restartPolicy: "OnFailure" } } },
      },
    },
  },
  controllerrevisions: {
    metadata: { name: "db-1", namespace: "default" },
    data: { spec: {} },
    revision: 1,
  },
  endpointslices: {
    metadata: { name: "web-abc", namespace: "default" },
    addressType: "IPv4",
    endpoints: [{ addresses: ["127.244.0.5"] }],
    ports: [{ port: 8080 }],
  },
  leases: {
    metadata: { name: "l", namespace: "default" },
    spec: { holderIdentity: "x", leaseDurationSeconds: 15 },
  },
  storageclasses: {
    metadata: { name: "standard" },
    provisioner: "loopkube.io/hostpath",
  } as KubeObject,
  horizontalpodautoscalers: {
    metadata: { name: "web", namespace: "default" },
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" },
      maxReplicas: 5,
    },
  },
  // networking.k8s.io
  ingresses: {
    metadata: { name: "web", namespace: "default" },
    spec: { defaultBackend: { service: { name: "web", port: { number: 80 } } } },
  },
  ingressclasses: { metadata: { name: "loopkube" }, spec: { controller: "loopkube.dev/ingress" } },
  networkpolicies: { metadata: { name: "deny", namespace: "default" }, spec: { podSelector: {} } },
  priorityclasses: { metadata: { name: "high" }, value: 1000 } as KubeObject,
  runtimeclasses: { metadata: { name: "fast" }, handler: "simulated" } as KubeObject,
  daemonsets: {
    metadata: { name: "agent", namespace: "default" },
    spec: { selector: { matchLabels: { app: "web" } }, template },
  },
  replicationcontrollers: {
    metadata: { name: "nginx", namespace: "default" },
    spec: { template },
  },
  poddisruptionbudgets: {
    metadata: { name: "web", namespace: "default" },
    spec: { minAvailable: 1, selector: { matchLabels: { app: "web" } } },
  },
  resourcequotas: {
    metadata: { name: "q", namespace: "default" },
    spec: { hard: { pods: "10", "requests.cpu": "2" } },
  },
  mutatingwebhookconfigurations: {
    metadata: { name: "inject" },
    webhooks: [
      {
        name: "inject.example.com",
        clientConfig: { url: "https://127.0.0.1:9443/mutate" },
        sideEffects: "None",
        admissionReviewVersions: ["v1"],
      },
    ],
  } as KubeObject,
  validatingwebhookconfigurations: {
    metadata: { name: "check" },
    webhooks: [
      {
        name: "check.example.com",
        clientConfig: { service: { name: "hooks", namespace: "default" } },
        sideEffects: "None",
        admissionReviewVersions: ["v1"],
      },
    ],
  } as KubeObject,
  validatingadmissionpolicies: {
    metadata: { name: "demo-policy.example.com" },
    spec: {
      matchConstraints: {
        resourceRules: [
          {
            apiGroups: ["apps"],
            apiVersions: ["v1"],
            operations: ["CREATE"],
            resources: ["deployments"],
          },
        ],
      },
      validations: [{ expression: "object.spec.replicas <= 5" }],
    },
  } as KubeObject,
  validatingadmissionpolicybindings: {
    metadata: { name: "demo-binding" },
    spec: { policyName: "demo-policy.example.com", validationActions: ["Deny"] },
  } as KubeObject,
  limitranges: {
    metadata: { name: "l", namespace: "default" },
    spec: { limits: [{ type: "Container", default: { cpu: "500m" } }] },
  },
  roles: {
    metadata: { name: "reader", namespace: "default" },
    rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get"] }],
  } as KubeObject,
  clusterroles: {
    metadata: { name: "reader" },
    rules: [{ nonResourceURLs: ["/healthz"], verbs: ["get"] }],
  } as KubeObject,
  rolebindings: {
    metadata: { name: "read", namespace: "default" },
    roleRef: { kind: "Role", name: "reader" },
    subjects: [{ kind: "User", name: "alice" }],
  } as KubeObject,
  clusterrolebindings: {
    metadata: { name: "read" },
    roleRef: { kind: "ClusterRole", name: "reader" },
    subjects: [{ kind: "ServiceAccount", name: "default", namespace: "default" }],
  } as KubeObject,
  apiservices: {
    metadata: { name: "v1alpha1.wardle.example.com" },
    spec: {
      group: "wardle.example.com",
      version: "v1alpha1",
      groupPriorityMinimum: 1000,
      versionPriority: 15,
      service: { name: "api", namespace: "wardle" },
    },
  },
};

test("strategyFor finds every resource by group and plural, and nothing else", () => {
  assert.equal(strategyFor("apps", "deployments")?.kind, "Deployment");
  assert.equal(strategyFor("", "pods")?.kind, "Pod");
  assert.equal(strategyFor("discovery.k8s.io", "endpointslices")?.kind, "EndpointSlice");
  assert.equal(strategyFor("", "deployments"), undefined);
  assert.equal(strategyFor("apps", "pods"), undefined);
  assert.equal(strategyFor("batch", "cronjobs")?.kind, "CronJob");
  assert.equal(
    strategyFor("autoscaling", "horizontalpodautoscalers")?.kind,
    "HorizontalPodAutoscaler",
  );
  assert.equal(strategyFor("apps", "daemonsets")?.kind, "DaemonSet");
  assert.equal(strategyFor("", "replicationcontrollers")?.kind, "ReplicationController");
  assert.equal(strategyFor("policy", "poddisruptionbudgets")?.kind, "PodDisruptionBudget");
  assert.equal(kindStrategies.length, 40);
});

test("every strategy accepts its minimal object after defaulting and prints one cell per column", () => {
  const now = Date.parse("2026-01-01T01:00:00Z");
  for (const s of kindStrategies) {
    const fixture = minimal[s.resource];
    assert.ok(fixture, `fixture for ${s.resource}`);
    const obj = structuredClone(fixture);
    obj.metadata = { ...obj.metadata, creationTimestamp: "2026-01-01T00:00:00Z" };
    s.applyDefaults(obj);
    s.prepareForCreate?.(obj);
    assert.deepEqual(s.validate(obj), [], `${s.resource} validate`);
    const copy = structuredClone(obj);
    copy.metadata = { ...copy.metadata, resourceVersion: "2" };
    s.prepareForUpdate?.(copy, obj);
    assert.deepEqual(s.validateUpdate(copy, obj), [], `${s.resource} validateUpdate`);
    const cells = s.row(obj, now);
    assert.equal(cells.length, s.columns.length, `${s.resource} cells`);
    const ageColumn = s.columns.findIndex((c) => c.name === "Age");
    if (ageColumn >= 0) assert.equal(cells[ageColumn], "60m", `${s.resource} age`);
    for (const c of s.columns) assert.ok(c.priority === 0 || c.priority === 1);
  }
});

test("every strategy is idempotent under defaulting", () => {
  for (const s of kindStrategies) {
    const once = structuredClone(minimal[s.resource] as KubeObject);
    s.applyDefaults(once);
    const twice = structuredClone(once);
    s.applyDefaults(twice);
    assert.deepEqual(twice, once, s.resource);
  }
});

test("every strategy rejects a namespace on the wrong scope", () => {
  for (const s of kindStrategies) {
    const obj = structuredClone(minimal[s.resource] as KubeObject);
    s.applyDefaults(obj);
    s.prepareForCreate?.(obj);
    if (s.namespaced) {
      delete obj.metadata.namespace;
      const msgs = s.validate(obj).map((e) => `${e.field}: ${e.message}`);
      assert.equal(msgs[0], "metadata.namespace: Required value", s.resource);
    } else {
      obj.metadata.namespace = "default";
      assert.deepEqual(
        s.validate(obj).map((e) => `${e.field}: ${e.message}`),
        ["metadata.namespace: Forbidden: not allowed on this type"],
        s.resource,
      );
    }
  }
});
