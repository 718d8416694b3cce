import assert from "node:assert/strict";
import { test } from "node:test";
import type { FieldError } from "../errors.ts";
import type { KubeObject } from "../types.ts";
import { podQOSClass, podStrategy } from "./pod.ts";
import { defaultPullPolicy } from "./pod_defaults.ts";

const lines = (errs: FieldError[]) => errs.map((e) => `${e.field}: ${e.message}`);

function pod(spec: Record<string, unknown>): KubeObject {
  return { apiVersion: "v1", kind: "Pod", metadata: { name: "p", namespace: "default" }, spec };
}

function defaulted(spec: Record<string, unknown>): KubeObject {
  const p = pod(spec);
  podStrategy.applyDefaults(p);
  return p;
}

test("defaultPullPolicy is Always only for latest or untagged images", () => {
  const cases: [string, string][] = [
    ["nginx", "Always"],
    ["nginx:latest", "Always"],
    ["nginx:1.27", "IfNotPresent"],
    ["localhost:5000/app", "Always"],
    ["localhost:5000/app:v2", "IfNotPresent"],
    ["nginx@sha256:abc", "IfNotPresent"],
  ];
  for (const [image, want] of cases) assert.equal(defaultPullPolicy(image), want, image);
});

test("pod defaults match what kube-apiserver stores for a bare pod", () => {
  const p = defaulted({
    containers: [
      {
        name: "app",
        image: "busybox",
        ports: [{ containerPort: 8080 }],
        readinessProbe: { httpGet: { port: 8080 } },
        livenessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 5 },
        env: [{ name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } }],
        resources: { limits: { cpu: "1" } },
      },
    ],
    volumes: [{ name: "scratch" }, { name: "cfg", configMap: { name: "c" } }],
  });
  assert.deepEqual(p.spec, {
    containers: [
      {
        name: "app",
        image: "busybox",
        imagePullPolicy: "Always",
        terminationMessagePath: "/dev/termination-log",
        terminationMessagePolicy: "File",
        ports: [{ containerPort: 8080, protocol: "TCP" }],
        readinessProbe: {
          httpGet: { port: 8080, path: "/", scheme: "HTTP" },
          timeoutSeconds: 1,
          periodSeconds: 10,
          successThreshold: 1,
          failureThreshold: 3,
        },
        livenessProbe: {
          tcpSocket: { port: 8080 },
          periodSeconds: 5,
          timeoutSeconds: 1,
          successThreshold: 1,
          failureThreshold: 3,
        },
        env: [
          {
            name: "POD_IP",
            valueFrom: { fieldRef: { fieldPath: "status.podIP", apiVersion: "v1" } },
          },
        ],
        resources: { limits: { cpu: "1" }, requests: { cpu: "1" } },
      },
    ],
    volumes: [
      { name: "scratch", emptyDir: {} },
      { name: "cfg", configMap: { name: "c", defaultMode: 420 } },
    ],
    enableServiceLinks: true,
    dnsPolicy: "ClusterFirst",
    restartPolicy: "Always",
    securityContext: {},
    terminationGracePeriodSeconds: 30,
    schedulerName: "default-scheduler",
  });
});

test("a gRPC probe's service defaults to the empty string, as kube's +default does", () => {
  const p = defaulted({
    containers: [{ name: "app", image: "x:1", startupProbe: { grpc: { port: 9000 } } }],
  });
  const probe = (p.spec as { containers: Array<{ startupProbe: unknown }> }).containers[0]
    ?.startupProbe;
  assert.deepEqual((probe as { grpc: unknown }).grpc, { port: 9000, service: "" });
});

test("a pod's deprecated serviceAccount fills serviceAccountName and reads back as it", () => {
  const cases: Array<[Record<string, unknown>, { name?: string; alias?: string }]> = [
    [{ serviceAccount: "old" }, { name: "old", alias: "old" }],
    [{ serviceAccountName: "new" }, { name: "new", alias: "new" }],
    [
      { serviceAccountName: "new", serviceAccount: "old" },
      { name: "new", alias: "new" },
    ],
    [{}, {}],
  ];
  for (const [spec, want] of cases) {
    const p = defaulted({ containers: [{ name: "a", image: "x" }], ...spec });
    const s = p.spec as { serviceAccountName?: string; serviceAccount?: string };
    assert.equal(s.serviceAccountName, want.name, JSON.stringify(spec));
    assert.equal(s.serviceAccount, want.alias, JSON.stringify(spec));
  }
});

test("pod defaults keep values the user set", () => {
  const p = defaulted({
    containers: [{ name: "a", image: "x:1", imagePullPolicy: "Never" }],
    restartPolicy: "Never",
    terminationGracePeriodSeconds: 0,
    enableServiceLinks: false,
  });
  const spec = p.spec as Record<string, unknown>;
  assert.equal(spec.restartPolicy, "Never");
  assert.equal(spec.terminationGracePeriodSeconds, 0);
  assert.equal(spec.enableServiceLinks, false);
  assert.equal((spec.containers as { imagePullPolicy: string }[])[0]?.imagePullPolicy, "Never");
});

test("prepareForCreate resets status to Pending with the QoS class", () => {
  const p = defaulted({ containers: [{ name: "a", image: "x" }] });
  p.status = { phase: "Running", podIP: "1.2.3.4" };
  podStrategy.prepareForCreate?.(p);
  assert.deepEqual(p.status, { phase: "Pending", qosClass: "BestEffort" });
  assert.equal(
    podQOSClass({ containers: [{ resources: { limits: { cpu: "1", memory: "1Gi" } } }] }),
    "Guaranteed",
  );
  assert.equal(
    podQOSClass({ containers: [{ resources: { requests: { cpu: "1" } } }] }),
    "Burstable",
  );
});

test("pod validation reports kube's messages", () => {
  const cases: { spec: Record<string, unknown>; want: string[] }[] = [
    { spec: { containers: [] }, want: ["spec.containers: Required value"] },
    { spec: { containers: [{ name: "a" }] }, want: ["spec.containers[0].image: Required value"] },
    { spec: { containers: [{ image: "x" }] }, want: ["spec.containers[0].name: Required value"] },
    {
      spec: {
        containers: [
          { name: "a", image: "x" },
          { name: "a", image: "y" },
        ],
      },
      want: ['spec.containers[1].name: Duplicate value: "a"'],
    },
    {
      spec: {
        initContainers: [{ name: "a", image: "x" }],
        containers: [{ name: "a", image: "y" }],
      },
      want: ['spec.containers[0].name: Duplicate value: "a"'],
    },
    {
      spec: { containers: [{ name: "App", image: "x" }] },
      want: [
        `spec.containers[0].name: Invalid value: "App": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
      ],
    },
    {
      spec: { containers: [{ name: "a", image: "x", ports: [{ containerPort: 70000 }] }] },
      want: [
        "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
      ],
    },
    {
      spec: {
        containers: [{ name: "a", image: "x", ports: [{ containerPort: 80, protocol: "HTTP" }] }],
      },
      want: [
        'spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"',
      ],
    },
    {
      spec: {
        containers: [{ name: "a", image: "x", ports: [{ containerPort: 80, name: "web_port" }] }],
      },
      want: [
        'spec.containers[0].ports[0].name: Invalid value: "web_port": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
      ],
    },
    {
      spec: {
        containers: [{ name: "a", image: "x", volumeMounts: [{ name: "data", mountPath: "/d" }] }],
      },
      want: ['spec.containers[0].volumeMounts[0].name: Not found: "data"'],
    },
    {
      spec: { containers: [{ name: "a", image: "x" }], restartPolicy: "Sometimes" },
      want: [
        'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
      ],
    },
    {
      spec: { containers: [{ name: "a", image: "x" }], dnsPolicy: "Cluster" },
      want: [
        'spec.dnsPolicy: Unsupported value: "Cluster": supported values: "ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"',
      ],
    },
    {
      spec: {
        containers: [
          {
            name: "a",
            image: "x",
            livenessProbe: { exec: { command: ["true"] }, successThreshold: 2 },
          },
        ],
      },
      want: ["spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"],
    },
    {
      spec: { containers: [{ name: "a", image: "x", readinessProbe: { periodSeconds: 3 } }] },
      want: ["spec.containers[0].readinessProbe: Required value: must specify a handler type"],
    },
    {
      spec: {
        containers: [{ name: "a", image: "x" }],
        volumes: [
          { name: "v", emptyDir: {} },
          { name: "v", emptyDir: {} },
        ],
      },
      want: ['spec.volumes[1].name: Duplicate value: "v"'],
    },
    {
      spec: {
        containers: [{ name: "a", image: "x" }],
        volumes: [
          {
            name: "t",
            projected: {
              sources: [
                { serviceAccountToken: { path: "token", expirationSeconds: 599 } },
                { serviceAccountToken: { expirationSeconds: 2 ** 32 + 1 } },
              ],
            },
          },
        ],
      },
      want: [
        "spec.volumes[0].projected.sources[0].serviceAccountToken.expirationSeconds: Invalid value: 599: may not specify a duration less than 10 minutes",
        "spec.volumes[0].projected.sources[1].serviceAccountToken.expirationSeconds: Invalid value: 4294967297: may not specify a duration larger than 2^32 seconds",
        "spec.volumes[0].projected.sources[1].serviceAccountToken.path: Required value",
      ],
    },
    {
      spec: { containers: [{ name: "a", image: "x" }], subdomain: "My_Svc" },
      want: [
        `spec.subdomain: Invalid value: "My_Svc": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
      ],
    },
  ];
  for (const c of cases) {
    const p = defaulted(c.spec);
    assert.deepEqual(lines(podStrategy.validate(p)), c.want, JSON.stringify(c.spec));
  }
});

test("pod updates may change images, tolerations additions and a shorter deadline only", () => {
  const old = defaulted({
    containers: [{ name: "a", image: "x:1" }],
    activeDeadlineSeconds: 100,
    tolerations: [{ key: "k", operator: "Exists" }],
  });
  old.metadata = { ...old.metadata, uid: "u" };
  const ok = structuredClone(old);
  (ok.spec as { containers: { image: string }[] }).containers[0]!.image = "x:2";
  (ok.spec as Record<string, unknown>).activeDeadlineSeconds = 50;
  (ok.spec as { tolerations: unknown[] }).tolerations.push({ key: "j", operator: "Exists" });
  ok.metadata.labels = { new: "label" };
  assert.deepEqual(lines(podStrategy.validateUpdate(ok, old)), []);

  const bad = structuredClone(old);
  (bad.spec as { containers: Record<string, unknown>[] }).containers[0]!.ports = [
    { containerPort: 80, protocol: "TCP" },
  ];
  assert.deepEqual(lines(podStrategy.validateUpdate(bad, old)), [
    "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
  ]);

  const longer = structuredClone(old);
  (longer.spec as Record<string, unknown>).activeDeadlineSeconds = 200;
  assert.deepEqual(lines(podStrategy.validateUpdate(longer, old)), [
    "spec.activeDeadlineSeconds: Invalid value: 200: must be less than or equal to previous value",
  ]);

  const removedToleration = structuredClone(old);
  (removedToleration.spec as Record<string, unknown>).tolerations = [];
  assert.equal(podStrategy.validateUpdate(removedToleration, old).length, 1);
});

test("pod selectable fields include node, phase and pod IP", () => {
  const p = defaulted({ containers: [{ name: "a", image: "x" }], nodeName: "n1" });
  p.status = { phase: "Running", podIPs: [{ ip: "127.244.0.7" }] };
  const f = podStrategy.selectableFields?.(p);
  assert.equal(f?.["spec.nodeName"], "n1");
  assert.equal(f?.["status.phase"], "Running");
  assert.equal(f?.["status.podIP"], "127.244.0.7");
  assert.equal(f?.["spec.restartPolicy"], "Always");
});
