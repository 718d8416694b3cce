import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Pod, Service } from "kubernetes-types/core/v1.js";
import type { EndpointSlice } from "kubernetes-types/discovery/v1.js";
import { serviceView } from "./model.ts";

const svc = (name: string, spec: NonNullable<Service["spec"]>): Service => ({
  metadata: { name, namespace: "ns" },
  spec,
});

const slice = (
  service: string,
  endpoints: Array<{
    ip: string;
    pod: string;
    ready?: boolean;
    hostname?: string;
    terminating?: boolean;
  }>,
  port = 8080,
): EndpointSlice => ({
  addressType: "IPv4",
  metadata: {
    name: `${service}-x`,
    namespace: "ns",
    labels: { "kubernetes.io/service-name": service },
  },
  ports: [{ name: "web", port, protocol: "TCP" }],
  endpoints: endpoints.map((e) => ({
    addresses: [e.ip],
    targetRef: { kind: "Pod", name: e.pod, namespace: "ns" },
    ...(e.hostname ? { hostname: e.hostname } : {}),
    conditions: {
      ready: e.ready ?? true,
      serving: e.ready ?? true,
      terminating: e.terminating ?? false,
    },
  })),
});

const pod = (
  name: string,
  owner: { kind: string; name: string },
  extra: Partial<Pod> = {},
): Pod => ({
  metadata: {
    name,
    namespace: "ns",
    ownerReferences: [
      { apiVersion: "apps/v1", kind: owner.kind, name: owner.name, uid: "u", controller: true },
    ],
  },
  status: {
    phase: "Running",
    podIP: "127.244.0.9",
    conditions: [{ type: "Ready", status: "True" }],
  },
  ...extra,
});

const inputs = (slices: EndpointSlice[], pods: Pod[] = []) => ({
  clusterDomain: "cluster.local",
  slices,
  pods,
  ownerOf: (kind: string, _ns: string, name: string) =>
    kind === "ReplicaSet"
      ? { kind: "Deployment", name: name.replace(/-[a-z0-9]+$/, "") }
      : undefined,
});

describe("serviceView", () => {
  it("gives a ClusterIP Service its name → virtual IP and an SRV record per named port", () => {
    const v = serviceView(
      svc("web", { clusterIP: "127.96.0.20", ports: [{ name: "http", port: 80 }] }),
      inputs([slice("web", [{ ip: "127.244.0.2", pod: "a" }])]),
    );
    assert.deepEqual(v.dns, [
      { name: "web.ns.svc.cluster.local", type: "A", data: ["127.96.0.20"] },
      {
        name: "_http._tcp.web.ns.svc.cluster.local",
        type: "SRV",
        data: ["0 100 80 web.ns.svc.cluster.local."],
      },
    ]);
    assert.equal(v.headless, false);
  });

  it("answers a headless name with ready endpoints only, and names each endpoint by hostname or dashed IP", () => {
    const v = serviceView(
      svc("nginx", { clusterIP: "None", ports: [{ name: "web", port: 80 }] }),
      inputs([
        slice("nginx", [
          { ip: "127.244.0.2", pod: "web-0", hostname: "web-0" },
          { ip: "127.244.0.3", pod: "web-1", hostname: "web-1", ready: false },
          { ip: "127.244.0.4", pod: "other" },
        ]),
      ]),
    );
    const byName = new Map(v.dns.map((r) => [r.name, r]));
    assert.deepEqual(byName.get("nginx.ns.svc.cluster.local")?.data, [
      "127.244.0.4",
      "127.244.0.2",
    ]);
    assert.deepEqual(byName.get("web-0.nginx.ns.svc.cluster.local")?.data, ["127.244.0.2"]);
    assert.deepEqual(byName.get("web-1.nginx.ns.svc.cluster.local")?.ip, "127.244.0.3");
    assert.ok(byName.has("127-244-0-4.nginx.ns.svc.cluster.local"));
    assert.deepEqual(byName.get("_web._tcp.nginx.ns.svc.cluster.local")?.data, [
      "0 50 8080 127-244-0-4.nginx.ns.svc.cluster.local.",
      "0 50 8080 web-0.nginx.ns.svc.cluster.local.",
    ]);
    assert.deepEqual(
      v.endpoints.map((e) => [e.pod, e.ready]),
      [
        ["other", true],
        ["web-0", true],
        ["web-1", false],
      ],
    );
  });

  it("publishes not-ready addresses when the Service asks, but never terminating ones", () => {
    const v = serviceView(
      svc("h", { clusterIP: "None", publishNotReadyAddresses: true }),
      inputs([
        slice("h", [
          { ip: "127.244.0.2", pod: "a", ready: false },
          { ip: "127.244.0.3", pod: "b", ready: false, terminating: true },
        ]),
      ]),
    );
    assert.deepEqual(v.dns[0]?.data, ["127.244.0.2"]);
  });

  it("answers an ExternalName Service with a CNAME", () => {
    const v = serviceView(
      svc("ext", { type: "ExternalName", externalName: "example.org" }),
      inputs([]),
    );
    assert.deepEqual(v.dns, [
      { name: "ext.ns.svc.cluster.local", type: "CNAME", data: ["example.org"] },
    ]);
  });

  it("lists pods with their owner chain, StatefulSet ordinals and claims", () => {
    const v = serviceView(
      svc("s", { clusterIP: "None" }),
      inputs(
        [],
        [
          pod("my-app-5d9-abcde", { kind: "ReplicaSet", name: "my-app-5d9" }),
          pod(
            "web-1",
            { kind: "StatefulSet", name: "web" },
            {
              spec: {
                containers: [],
                volumes: [{ name: "www", persistentVolumeClaim: { claimName: "www-web-1" } }],
              },
            },
          ),
        ],
      ),
    );
    assert.deepEqual(
      v.pods.map((p) => [p.name, p.owners, p.ordinal, p.claims]),
      [
        ["my-app-5d9-abcde", ["ReplicaSet/my-app-5d9", "Deployment/my-app"], undefined, undefined],
        ["web-1", ["StatefulSet/web"], 1, ["www-web-1"]],
      ],
    );
  });
});
