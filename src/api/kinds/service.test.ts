import assert from "node:assert/strict";
import { test } from "node:test";
import type { FieldError } from "../errors.ts";
import type { KubeObject } from "../types.ts";
import { serviceStrategy } from "./service.ts";

const lines = (errs: FieldError[]) => errs.map((e) => `${e.field}: ${e.message}`);
const NOW = Date.parse("2026-01-01T01:00:00Z");

function svc(spec: Record<string, unknown>): KubeObject {
  return {
    metadata: {
      name: "web",
      namespace: "default",
      uid: "u",
      creationTimestamp: "2026-01-01T00:00:00Z",
    },
    spec,
  };
}

function defaulted(spec: Record<string, unknown>): KubeObject {
  const s = svc(spec);
  serviceStrategy.applyDefaults(s);
  return s;
}

test("service defaults: ClusterIP, None affinity, TCP, targetPort = port, Cluster traffic policies", () => {
  assert.deepEqual(
    defaulted({
      selector: { app: "web" },
      ports: [{ port: 80 }, { name: "x", port: 81, targetPort: "http" }],
    }).spec,
    {
      selector: { app: "web" },
      ports: [
        { port: 80, protocol: "TCP", targetPort: 80 },
        { name: "x", port: 81, targetPort: "http", protocol: "TCP" },
      ],
      sessionAffinity: "None",
      type: "ClusterIP",
      internalTrafficPolicy: "Cluster",
    },
  );
  const np = defaulted({ type: "NodePort", ports: [{ port: 80 }] }).spec as Record<string, unknown>;
  assert.equal(np.externalTrafficPolicy, "Cluster");
  assert.equal(np.internalTrafficPolicy, "Cluster");
  const lb = defaulted({ type: "LoadBalancer", ports: [{ port: 80 }] }).spec as Record<
    string,
    unknown
  >;
  assert.equal(lb.allocateLoadBalancerNodePorts, true);
  const en = defaulted({ type: "ExternalName", externalName: "example.com" }).spec as Record<
    string,
    unknown
  >;
  assert.equal(en.internalTrafficPolicy, undefined);
  const sticky = defaulted({ sessionAffinity: "ClientIP", ports: [{ port: 80 }] }).spec as Record<
    string,
    unknown
  >;
  assert.deepEqual(sticky.sessionAffinityConfig, { clientIP: { timeoutSeconds: 10800 } });
  assert.equal(
    (defaulted({ ports: [{ port: 80 }] }).spec as Record<string, unknown>).clusterIP,
    undefined,
    "no IP allocation",
  );
});

test("service validation reports kube's messages", () => {
  const cases: { spec: Record<string, unknown>; want: string[] }[] = [
    { spec: { ports: [] }, want: ["spec.ports: Required value"] },
    { spec: { clusterIP: "None" }, want: [] },
    { spec: { type: "ExternalName", externalName: "db.example.com" }, want: [] },
    { spec: { type: "ExternalName" }, want: ["spec.externalName: Required value"] },
    {
      spec: { type: "Magic", ports: [{ port: 80 }] },
      want: [
        'spec.type: Unsupported value: "Magic": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
      ],
    },
    {
      spec: { ports: [{ port: 80 }, { port: 80 }] },
      want: [
        "spec.ports[0].name: Required value",
        "spec.ports[1].name: Required value",
        'spec.ports[1]: Duplicate value: core.ServicePort{Name:"", Protocol:"TCP", AppProtocol:(*string)(nil), Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}',
      ],
    },
    {
      spec: {
        ports: [
          { name: "a", port: 80 },
          { name: "a", port: 81 },
        ],
      },
      want: ['spec.ports[1].name: Duplicate value: "a"'],
    },
    {
      spec: { ports: [{ port: 0 }] },
      want: [
        "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
        "spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive",
      ],
    },
    {
      spec: { ports: [{ port: 80, protocol: "ICMP" }] },
      want: [
        'spec.ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"',
      ],
    },
    {
      spec: { ports: [{ port: 80, targetPort: "Http_Port" }] },
      want: [
        'spec.ports[0].targetPort: Invalid value: "Http_Port": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
      ],
    },
    {
      spec: { type: "NodePort", clusterIP: "None", ports: [{ port: 80 }] },
      want: [
        "spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for NodePort services",
      ],
    },
    {
      spec: { ports: [{ port: 80, nodePort: 30080 }] },
      want: ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"],
    },
    {
      spec: { type: "ExternalName", externalName: "x.io", clusterIP: "127.96.0.5" },
      want: ["spec.clusterIPs: Forbidden: may not be set for ExternalName services"],
    },
    {
      spec: { clusterIP: "300.1.1.1", ports: [{ port: 80 }] },
      want: [
        'spec.clusterIPs[0]: Invalid value: "300.1.1.1": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
      ],
    },
  ];
  for (const c of cases)
    assert.deepEqual(
      lines(serviceStrategy.validate(defaulted(c.spec))),
      c.want,
      JSON.stringify(c.spec),
    );
  const bad = defaulted({ ports: [{ port: 80 }] });
  bad.metadata = { ...bad.metadata, name: "1web" };
  assert.match(
    lines(serviceStrategy.validate(bad))[0] ?? "",
    /^metadata.name: Invalid value: "1web": a DNS-1035 label must consist/,
  );
});

test("loadBalancerSourceRanges and their annotation: LoadBalancer only, CIDRs (kube's messages)", () => {
  const lb = { type: "LoadBalancer", ports: [{ port: 80 }] };
  const ann = (v: string) => ({ "service.beta.kubernetes.io/load-balancer-source-ranges": v });
  const cases: {
    spec: Record<string, unknown>;
    annotations?: Record<string, string>;
    want: string[];
  }[] = [
    { spec: { ...lb, loadBalancerSourceRanges: [" 10.0.0.0/8", "fd00::/8"] }, want: [] },
    {
      spec: { ports: [{ port: 80 }], loadBalancerSourceRanges: ["10.0.0.0/8"] },
      want: [
        "spec.LoadBalancerSourceRanges: Forbidden: may only be used when `type` is 'LoadBalancer'",
      ],
    },
    {
      spec: { ...lb, loadBalancerSourceRanges: ["10.0.0.0/8", "10.0.0.1", "10.0.0.0/33"] },
      want: [
        'spec.LoadBalancerSourceRanges: Invalid value: "[10.0.0.0/8 10.0.0.1 10.0.0.0/33]": must be a list of IP ranges. For example, 10.240.0.0/24,10.250.0.0/24 ',
      ],
    },
    { spec: lb, annotations: ann("10.0.0.0/8,192.168.0.0/16"), want: [] },
    { spec: lb, annotations: ann(" "), want: [] },
    {
      spec: lb,
      annotations: ann("10.0.0.0/8, 192.168.0.0/16"),
      want: [
        'metadata.annotations[service.beta.kubernetes.io/load-balancer-source-ranges]: Invalid value: "10.0.0.0/8, 192.168.0.0/16": must be a list of IP ranges. For example, 10.240.0.0/24,10.250.0.0/24 ',
      ],
    },
    {
      spec: { ports: [{ port: 80 }] },
      annotations: ann("10.0.0.0/8"),
      want: [
        "metadata.annotations[service.beta.kubernetes.io/load-balancer-source-ranges]: Forbidden: may only be used when `type` is 'LoadBalancer'",
      ],
    },
  ];
  for (const c of cases) {
    const s = defaulted(c.spec);
    if (c.annotations) s.metadata = { ...s.metadata, annotations: c.annotations };
    assert.deepEqual(lines(serviceStrategy.validate(s)), c.want, JSON.stringify(c));
  }
});

test("service clusterIP may not change once set, and updates that omit it keep it", () => {
  const old = defaulted({ ports: [{ port: 80 }] });
  (old.spec as Record<string, unknown>).clusterIP = "127.96.0.20";
  (old.spec as Record<string, unknown>).clusterIPs = ["127.96.0.20"];
  const replaced = defaulted({ ports: [{ port: 8080 }] });
  serviceStrategy.prepareForUpdate?.(replaced, old);
  assert.equal((replaced.spec as Record<string, unknown>).clusterIP, "127.96.0.20");
  assert.deepEqual(lines(serviceStrategy.validateUpdate(replaced, old)), []);
  const moved = structuredClone(old);
  (moved.spec as Record<string, unknown>).clusterIP = "127.96.0.21";
  (moved.spec as Record<string, unknown>).clusterIPs = ["127.96.0.21"];
  assert.deepEqual(lines(serviceStrategy.validateUpdate(moved, old)), [
    'spec.clusterIPs[0]: Invalid value: ["127.96.0.21"]: may not change once set',
  ]);
});

test("switching a NodePort service to ClusterIP drops its node ports and traffic policy", () => {
  const old = defaulted({ type: "NodePort", ports: [{ port: 80, nodePort: 30080 }] });
  const next = structuredClone(old);
  (next.spec as Record<string, unknown>).type = "ClusterIP";
  serviceStrategy.prepareForUpdate?.(next, old);
  assert.deepEqual(lines(serviceStrategy.validateUpdate(next, old)), []);
  assert.equal((next.spec as Record<string, unknown>).externalTrafficPolicy, undefined);
});

test("service rows show cluster IP, external IP and ports as kubectl get svc", () => {
  const cases: {
    spec: Record<string, unknown>;
    status?: Record<string, unknown>;
    want: unknown[];
  }[] = [
    {
      spec: { clusterIPs: ["127.96.0.20"], ports: [{ port: 80 }], selector: { app: "web" } },
      want: ["web", "ClusterIP", "127.96.0.20", "<none>", "80/TCP", "60m", "app=web"],
    },
    {
      spec: {
        clusterIP: "None",
        clusterIPs: ["None"],
        ports: [{ port: 80 }, { port: 53, protocol: "UDP", name: "dns" }],
      },
      want: ["web", "ClusterIP", "None", "<none>", "80/TCP,53/UDP", "60m", "<none>"],
    },
    {
      spec: {
        type: "NodePort",
        clusterIPs: ["127.96.0.21"],
        ports: [{ port: 80, nodePort: 30080 }],
      },
      want: ["web", "NodePort", "127.96.0.21", "<none>", "80:30080/TCP", "60m", "<none>"],
    },
    {
      spec: {
        type: "LoadBalancer",
        clusterIPs: ["127.96.0.22"],
        ports: [{ port: 80, nodePort: 30081 }],
      },
      want: ["web", "LoadBalancer", "127.96.0.22", "<pending>", "80:30081/TCP", "60m", "<none>"],
    },
    {
      spec: {
        type: "LoadBalancer",
        clusterIPs: ["127.96.0.22"],
        ports: [{ port: 80, nodePort: 30081 }],
      },
      status: { loadBalancer: { ingress: [{ ip: "127.0.0.1" }] } },
      want: ["web", "LoadBalancer", "127.96.0.22", "127.0.0.1", "80:30081/TCP", "60m", "<none>"],
    },
    {
      spec: { type: "ExternalName", externalName: "db.example.com" },
      want: ["web", "ExternalName", "<none>", "db.example.com", "<none>", "60m", "<none>"],
    },
  ];
  for (const c of cases) {
    const s = defaulted(c.spec);
    if (c.status) s.status = c.status;
    assert.deepEqual(serviceStrategy.row(s, NOW), c.want, JSON.stringify(c.spec));
  }
});
