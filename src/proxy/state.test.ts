import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Service } from "kubernetes-types/core/v1.js";
import type { EndpointSlice } from "kubernetes-types/discovery/v1.js";
import { endpoint, service, slice } from "./_testing/kit.ts";
import { type Frontend, ProxyState, type ServicePortState } from "./state.ts";

function stateWith(svc: Service, slices: EndpointSlice[] = []): ProxyState {
  const s = new ProxyState({
    nodeName: "node-a",
    nodeIP: "127.0.0.1",
    loadBalancerCidr: "127.100.0.0/24",
  });
  s.upsertService(svc);
  for (const sl of slices) s.upsertEndpointSlice(sl);
  return s;
}

function onlyPort(s: ProxyState, key = "default/web"): ServicePortState {
  const ports = s.view(key)?.ports ?? [];
  assert.equal(ports.length, 1);
  return ports[0] as ServicePortState;
}

describe("ProxyState frontends", () => {
  const cases: { name: string; svc: Service; want: Omit<Frontend, "ip">[]; ips?: string[] }[] = [
    {
      name: "a ClusterIP Service listens on its cluster IP",
      svc: service("web", { clusterIP: "127.96.0.5", ports: [{ port: 80 }] }),
      want: [{ port: 80, protocol: "TCP", kind: "ClusterIP" }],
      ips: ["127.96.0.5"],
    },
    {
      name: "a headless Service gets no frontend",
      svc: service("web", { clusterIP: "None", ports: [{ port: 80 }] }),
      want: [],
    },
    {
      name: "a Service without an allocated cluster IP gets no frontend yet",
      svc: service("web", { ports: [{ port: 80 }] }),
      want: [],
    },
    {
      name: "a NodePort Service also listens on 127.0.0.1:nodePort",
      svc: service("web", {
        type: "NodePort",
        clusterIP: "127.96.0.5",
        ports: [{ port: 80, nodePort: 30080 }],
      }),
      want: [
        { port: 80, protocol: "TCP", kind: "ClusterIP" },
        { port: 30080, protocol: "TCP", kind: "NodePort" },
      ],
      ips: ["127.96.0.5", "127.0.0.1"],
    },
    {
      name: "a UDP port is served as UDP",
      svc: service("web", { clusterIP: "127.96.0.5", ports: [{ port: 53, protocol: "UDP" }] }),
      want: [{ port: 53, protocol: "UDP", kind: "ClusterIP" }],
    },
    {
      name: "a loopback external IP is served, with the service port",
      svc: service("web", {
        clusterIP: "127.96.0.5",
        externalIPs: ["127.200.0.1"],
        ports: [{ port: 80 }],
      }),
      want: [
        { port: 80, protocol: "TCP", kind: "ClusterIP" },
        { port: 80, protocol: "TCP", kind: "ExternalIP" },
      ],
      ips: ["127.96.0.5", "127.200.0.1"],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const port = onlyPort(stateWith(c.svc));
      assert.deepEqual(
        port.frontends.map(({ ip: _, ...rest }) => rest),
        c.want,
      );
      if (c.ips)
        assert.deepEqual(
          port.frontends.map((f) => f.ip),
          c.ips,
        );
    });
  }

  it("gives a LoadBalancer Service an ingress IP from the range and listens there too", () => {
    const s = stateWith(
      service("web", {
        type: "LoadBalancer",
        clusterIP: "127.96.0.5",
        ports: [{ port: 80, nodePort: 30080 }],
      }),
    );
    const lb = s.view("default/web")?.loadBalancerIp;
    assert.ok(lb?.startsWith("127.100.0."));
    assert.deepEqual(
      onlyPort(s).frontends.map((f) => `${f.kind} ${f.ip}:${f.port}`),
      ["ClusterIP 127.96.0.5:80", "NodePort 127.0.0.1:30080", `LoadBalancer ${lb}:80`],
    );
  });

  it("keeps the ingress IP already in the Service status", () => {
    const svc: Service = {
      ...service("web", { type: "LoadBalancer", clusterIP: "127.96.0.5", ports: [{ port: 80 }] }),
      status: { loadBalancer: { ingress: [{ ip: "127.100.0.77" }] } },
    };
    assert.equal(stateWith(svc).view("default/web")?.loadBalancerIp, "127.100.0.77");
  });

  it("leaves a LoadBalancer Service with a loadBalancerClass to its controller", () => {
    const s = stateWith(
      service("web", {
        type: "LoadBalancer",
        loadBalancerClass: "example.com/lb",
        clusterIP: "127.96.0.5",
        ports: [{ port: 80 }],
      }),
    );
    assert.equal(s.view("default/web")?.loadBalancerIp, undefined);
  });

  it("releases the ingress IP when the Service stops being a LoadBalancer", () => {
    const s = new ProxyState({
      nodeName: "node-a",
      nodeIP: "127.0.0.1",
      loadBalancerCidr: "127.100.0.0/30",
    }); // 2 IPs
    const lb = (name: string) =>
      service(name, { type: "LoadBalancer", clusterIP: "127.96.0.5", ports: [{ port: 80 }] });
    s.upsertService(lb("a"));
    s.upsertService(lb("b"));
    s.upsertService(lb("c"));
    assert.deepEqual(
      s.view("default/c")?.problems.map((p) => p.reason),
      ["LoadBalancerIPExhausted"],
    );
    s.upsertService(service("a", { clusterIP: "127.96.0.5", ports: [{ port: 80 }] }));
    s.upsertService(lb("c"));
    assert.ok(s.view("default/c")?.loadBalancerIp !== undefined);
    assert.deepEqual(s.view("default/c")?.problems, []);
  });

  it("refuses SCTP ports with a problem and serves the others", () => {
    const s = stateWith(
      service("web", {
        clusterIP: "127.96.0.5",
        ports: [
          { name: "a", port: 80 },
          { name: "b", port: 9, protocol: "SCTP" },
        ],
      }),
    );
    const view = s.view("default/web");
    assert.deepEqual(
      view?.ports.map((p) => p.portName),
      ["a"],
    );
    assert.deepEqual(
      view?.problems.map((p) => p.reason),
      ["UnsupportedProtocol"],
    );
    assert.match(view?.problems[0]?.message ?? "", /SCTP/);
  });

  it("serves no ports for an ExternalName Service", () => {
    const s = stateWith(service("web", { type: "ExternalName", externalName: "example.com" }));
    assert.deepEqual(s.view("default/web")?.ports, []);
  });
});

describe("ProxyState endpoints", () => {
  const web = service("web", {
    clusterIP: "127.96.0.5",
    ports: [
      { name: "http", port: 80 },
      { name: "dns", port: 53, protocol: "UDP" },
    ],
  });

  it("takes each port's endpoints from the slice port with the same name and protocol", () => {
    const s = stateWith(web, [
      slice(
        "web-1",
        "web",
        [
          { name: "http", port: 8080 },
          { name: "dns", port: 5353, protocol: "UDP" },
        ],
        [endpoint("127.244.0.2"), endpoint("127.244.0.1")],
      ),
    ]);
    const [http, dns] = s.view("default/web")?.ports ?? [];
    assert.deepEqual(
      http?.endpoints.map((e) => `${e.ip}:${e.port}`),
      ["127.244.0.1:8080", "127.244.0.2:8080"],
    );
    assert.deepEqual(
      dns?.endpoints.map((e) => `${e.ip}:${e.port}`),
      ["127.244.0.1:5353", "127.244.0.2:5353"],
    );
  });

  it("merges slices, keeps a duplicate once and prefers its ready copy", () => {
    const s = stateWith(web, [
      slice(
        "web-1",
        "web",
        [{ name: "http", port: 8080 }],
        [endpoint("127.244.0.1", { ready: false })],
      ),
      slice(
        "web-2",
        "web",
        [{ name: "http", port: 8080 }],
        [endpoint("127.244.0.1", { ready: true }), endpoint("127.244.0.3")],
      ),
    ]);
    const http = s.view("default/web")?.ports[0];
    assert.deepEqual(
      http?.endpoints.map((e) => [e.ip, e.ready]),
      [
        ["127.244.0.1", true],
        ["127.244.0.3", true],
      ],
    );
  });

  it("ignores slices of other Services, other namespaces and non-IPv4 address types", () => {
    const s = stateWith(web, [
      slice("other", "api", [{ name: "http", port: 8080 }], [endpoint("127.244.0.9")]),
      slice("elsewhere", "web", [{ name: "http", port: 8080 }], [endpoint("127.244.0.8")], {
        namespace: "prod",
      }),
      slice("fqdn", "web", [{ name: "http", port: 8080 }], [endpoint("example.com")], {
        addressType: "FQDN",
      }),
    ]);
    assert.deepEqual(s.view("default/web")?.ports[0]?.endpoints, []);
  });

  const conditionCases = [
    { name: "unset conditions read as ready and serving", in: {}, want: [true, true, false] },
    {
      name: "a terminating serving endpoint",
      in: { ready: false, serving: true, terminating: true },
      want: [false, true, true],
    },
    {
      name: "an unready endpoint",
      in: { ready: false, serving: false },
      want: [false, false, false],
    },
  ];
  for (const c of conditionCases) {
    it(`reads conditions: ${c.name}`, () => {
      const s = stateWith(web, [
        slice("web-1", "web", [{ name: "http", port: 8080 }], [endpoint("127.244.0.1", c.in)]),
      ]);
      const e = s.view("default/web")?.ports[0]?.endpoints[0];
      assert.deepEqual([e?.ready, e?.serving, e?.terminating], c.want);
    });
  }

  it("marks endpoints on this node as local", () => {
    const s = stateWith(web, [
      slice(
        "web-1",
        "web",
        [{ name: "http", port: 8080 }],
        [endpoint("127.244.0.1", {}, "node-a"), endpoint("127.244.0.2", {}, "node-b")],
      ),
    ]);
    assert.deepEqual(
      s.view("default/web")?.ports[0]?.endpoints.map((e) => e.isLocal),
      [true, false],
    );
  });

  it("follows slice deletion and a slice moving to another Service", () => {
    const s = stateWith(web, [
      slice("web-1", "web", [{ name: "http", port: 8080 }], [endpoint("127.244.0.1")]),
    ]);
    s.upsertService(
      service("api", { clusterIP: "127.96.0.6", ports: [{ name: "http", port: 80 }] }),
    );
    const moved = s.upsertEndpointSlice(
      slice("web-1", "api", [{ name: "http", port: 8080 }], [endpoint("127.244.0.1")]),
    );
    assert.deepEqual(moved.sort(), ["default/api", "default/web"]);
    assert.equal(s.view("default/web")?.ports[0]?.endpoints.length, 0);
    assert.equal(s.view("default/api")?.ports[0]?.endpoints.length, 1);
    assert.deepEqual(s.deleteEndpointSlice(slice("web-1", "api", [], [])), ["default/api"]);
    assert.equal(s.view("default/api")?.ports[0]?.endpoints.length, 0);
  });

  it("keeps slices that arrive before their Service", () => {
    const s = new ProxyState({ nodeName: "node-a", nodeIP: "127.0.0.1" });
    s.upsertEndpointSlice(
      slice("web-1", "web", [{ name: "http", port: 8080 }], [endpoint("127.244.0.1")]),
    );
    s.upsertService(web);
    assert.equal(s.view("default/web")?.ports[0]?.endpoints.length, 1);
  });
});

describe("ProxyState policies", () => {
  const cases: {
    name: string;
    spec: Service["spec"];
    want: [number | undefined, boolean, boolean];
  }[] = [
    { name: "defaults", spec: {}, want: [undefined, false, false] },
    {
      name: "ClientIP affinity with the default timeout",
      spec: { sessionAffinity: "ClientIP" },
      want: [10800, false, false],
    },
    {
      name: "ClientIP affinity with a timeout",
      spec: {
        sessionAffinity: "ClientIP",
        sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } },
      },
      want: [60, false, false],
    },
    {
      name: "Local traffic policies",
      spec: { internalTrafficPolicy: "Local", externalTrafficPolicy: "Local" },
      want: [undefined, true, true],
    },
  ];
  for (const c of cases) {
    it(`reads ${c.name}`, () => {
      const p = onlyPort(
        stateWith(service("web", { clusterIP: "127.96.0.5", ports: [{ port: 80 }], ...c.spec })),
      );
      assert.deepEqual([p.affinityTimeoutSeconds, p.internalLocal, p.externalLocal], c.want);
    });
  }
});

describe("ProxyState health check", () => {
  const lb = (policy: string): Service =>
    service("web", {
      type: "LoadBalancer",
      clusterIP: "127.96.0.5",
      externalTrafficPolicy: policy,
      healthCheckNodePort: 32000,
      ports: [
        { name: "a", port: 80 },
        { name: "b", port: 443 },
      ],
    });

  it("asks for the health-check node port only under a Local external policy", () => {
    assert.equal(stateWith(lb("Local")).view("default/web")?.healthCheckNodePort, 32000);
    assert.equal(stateWith(lb("Cluster")).view("default/web")?.healthCheckNodePort, undefined);
  });

  it("counts distinct local ready endpoint IPs over all ports", () => {
    const s = stateWith(lb("Local"), [
      slice(
        "web-1",
        "web",
        [
          { name: "a", port: 8080 },
          { name: "b", port: 8443 },
        ],
        [
          endpoint("127.244.0.1", {}, "node-a"),
          endpoint("127.244.0.2", { ready: false, serving: true, terminating: true }, "node-a"),
          endpoint("127.244.0.3", {}, "node-b"),
        ],
      ),
    ]);
    assert.equal(s.view("default/web")?.localReadyEndpoints, 1);
  });
});
