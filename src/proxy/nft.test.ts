import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import {
  type KernelModel,
  kernelFullScript,
  kernelModel,
  kernelPorts,
  kernelServicesScript,
  kernelUpdateScript,
  staleUdp,
  withIngressFrontends,
} from "./nft.ts";
import type { EndpointInfo, Frontend, ServicePortState, ServiceView } from "./state.ts";

const ep = (ip: string, extra: Partial<EndpointInfo> = {}): EndpointInfo => ({
  ip,
  port: 8080,
  ready: true,
  serving: true,
  terminating: false,
  isLocal: true,
  ...extra,
});

const port = (
  name: string,
  clusterIP: string,
  endpoints: EndpointInfo[],
  extra: Partial<ServicePortState> = {},
): ServicePortState => ({
  key: `default/${name}:`,
  serviceKey: `default/${name}`,
  portName: "",
  protocol: "TCP",
  frontends: [
    { ip: clusterIP, port: 80, protocol: "TCP", kind: "ClusterIP" },
    { ip: "127.0.0.1", port: 30000 + name.length, protocol: "TCP", kind: "NodePort" },
  ],
  endpoints,
  affinityTimeoutSeconds: undefined,
  internalLocal: false,
  externalLocal: false,
  ...extra,
});

const OPTIONS = {
  table: "loopkube-ab12-svc",
  linkPrefix: "lkab12",
  podCidr: "127.244.0.0/16",
  nodes: [{ cidr: "127.244.0.0/16", gateway: "127.244.0.1" }],
};

const PORTS = [
  port("two", "127.96.0.20", [ep("127.244.0.2"), ep("127.244.0.3")]),
  port("sticky", "127.96.0.21", [ep("127.244.0.2")], { affinityTimeoutSeconds: 600 }),
  port("none", "127.96.0.22", []),
  port("unready", "127.96.0.23", [ep("127.244.0.4", { ready: false })]),
  port("api", "127.96.0.1", [ep("127.0.0.1")]),
];

describe("kernelPorts", () => {
  test("ClusterIPs, and NodePorts at the gateway (not at 127.0.0.1); ready endpoints; ports with an endpoint off the pod range are left to userspace", () => {
    const got = kernelPorts(PORTS, OPTIONS).map((p) => [
      `${p.ip}:${p.frontPort}`,
      p.endpoints.map((e) => e.ip),
    ]);
    assert.deepEqual(got, [
      ["127.244.0.1:30004", []],
      ["127.96.0.22:80", []],
      ["127.244.0.1:30006", ["127.244.0.2"]],
      ["127.96.0.21:80", ["127.244.0.2"]],
      ["127.244.0.1:30003", ["127.244.0.2", "127.244.0.3"]],
      ["127.96.0.20:80", ["127.244.0.2", "127.244.0.3"]],
      ["127.244.0.1:30007", []],
      ["127.96.0.23:80", []],
    ]);
  });
});

describe("kernelServicesScript", () => {
  const script = kernelServicesScript(PORTS, OPTIONS);
  test("replaces only its own table", () =>
    assert.deepEqual(
      script.split("\n").filter((l) => /\btable\b/.test(l)),
      [
        "table ip loopkube-ab12-svc",
        "delete table ip loopkube-ab12-svc",
        "table ip loopkube-ab12-svc {",
      ],
    ));
  test("DNATs only what comes in on this cluster's pod links", () =>
    assert.match(
      script,
      /iifname "lkab12\*" ip daddr \. meta l4proto \. th dport vmap @service-ips/,
    ));
  test("spreads with numgen, keeps affinity in a timed set, rejects without endpoints", () => {
    assert.match(
      script,
      /127\.244\.0\.1 \. tcp \. 30003 : goto svc-[0-9a-f]{8}-default\/two\/tcp\/-/,
      "the NodePort at the gateway",
    );
    assert.match(
      script,
      /numgen random mod 2 vmap \{ 0 : goto ep-\S+__127\.244\.0\.2\/8080, 1 : goto ep-\S+__127\.244\.0\.3\/8080 \}/,
    );
    assert.match(script, /timeout 600s;/);
    assert.match(
      script,
      /update @aff-[0-9a-f]{8}-default\/sticky\/tcp\/-__127\.244\.0\.2\/8080 \{ ip saddr \}/,
    );
    assert.match(
      script,
      /elements = \{ 127\.244\.0\.1 \. tcp \. 30004, 127\.96\.0\.22 \. tcp \. 80, 127\.244\.0\.1 \. tcp \. 30007, 127\.96\.0\.23 \. tcp \. 80 \}/,
    );
    assert.doesNotMatch(script, /127\.96\.0\.1 \./, "the API server stays with userspace");
  });
  test("hairpin pairs are SNATed to the node's gateway", () => {
    assert.match(script, /127\.244\.0\.2 \. 127\.244\.0\.2/);
    assert.match(
      script,
      /ip daddr 127\.244\.0\.0\/16 ip saddr \. ip daddr @hairpin snat to 127\.244\.0\.1/,
    );
  });
  const nftChecks = process.getuid?.() === 0 && spawnSync("nft", ["--version"]).status === 0;
  test("nft -c accepts the script, and an empty one (checks only: nothing is changed)", {
    skip: nftChecks ? false : "needs root and nft",
  }, () => {
    for (const s of [script, kernelServicesScript([], OPTIONS)]) {
      const r = spawnSync("nft", ["-c", "-f", "-"], { input: s, encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
    }
  });
});

describe("kernelModel", () => {
  test("a port's ClusterIP and NodePort go to one chain: one affinity set per endpoint serves both", () => {
    const m = kernelModel(PORTS, OPTIONS);
    const chain = m.services.get("127.96.0.21 . tcp . 80");
    assert.ok(chain);
    assert.equal(m.services.get("127.244.0.1 . tcp . 30006"), chain);
    assert.equal([...m.affinity.keys()].filter((s) => s.includes("/sticky/")).length, 1);
  });
  test("a Local traffic policy gets a local- chain beside the svc- one, sharing endpoint chains", () => {
    const m = kernelModel(
      [
        port("mixed", "127.96.0.30", [ep("127.244.0.2"), ep("127.244.0.3", { isLocal: false })], {
          internalLocal: true,
        }),
      ],
      OPTIONS,
    );
    const local = m.services.get("127.96.0.30 . tcp . 80") ?? "";
    const cluster = m.services.get("127.244.0.1 . tcp . 30005") ?? "";
    assert.match(cluster, /^svc-/);
    assert.match(local, /^local-/);
    const jumps = (c: string) => (m.chains.get(c) ?? []).join(" ").match(/ep-[^\s,]+/g) ?? [];
    assert.equal(jumps(cluster).length, 2);
    assert.deepEqual(jumps(local), [jumps(cluster)[0]]);
  });
});

describe("external frontends from pods (NodePorts, LoadBalancer ingress IPs, externalIPs)", () => {
  const eps = [ep("127.244.0.2"), ep("127.244.0.3", { isLocal: false })];
  const frontends: Frontend[] = [
    { ip: "127.96.0.40", port: 80, protocol: "TCP", kind: "ClusterIP" },
    { ip: "127.0.0.1", port: 30040, protocol: "TCP", kind: "NodePort" },
    { ip: "127.100.0.7", port: 80, protocol: "TCP", kind: "LoadBalancer" },
    { ip: "127.55.0.1", port: 80, protocol: "TCP", kind: "ExternalIP" },
  ];
  const chainOf = (m: KernelModel, key: string) => m.services.get(key) ?? "";
  const cases = [
    { name: "both policies Cluster: every endpoint", policies: {}, want: /^svc-/ },
    {
      name: "externalTrafficPolicy Local alone: every endpoint (kube-proxy short-circuits pod traffic)",
      policies: { externalLocal: true },
      want: /^svc-/,
    },
    {
      name: "both policies Local: this node's endpoints",
      policies: { externalLocal: true, internalLocal: true },
      want: /^local-/,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const m = kernelModel(
        [port("ext", "127.96.0.40", eps, { frontends, ...c.policies })],
        OPTIONS,
      );
      for (const key of [
        "127.244.0.1 . tcp . 30040",
        "127.100.0.7 . tcp . 80",
        "127.55.0.1 . tcp . 80",
      ]) {
        assert.match(chainOf(m, key), c.want, key);
      }
    });
  }
  test("LoadBalancer ingress IPs come from the status: loopback IPv4 ones, not ipMode Proxy, of LoadBalancer Services only", () => {
    const view = (type: string): ServiceView => ({
      service: {
        spec: { type, ports: [{ port: 80, protocol: "TCP" }] },
        status: {
          loadBalancer: {
            ingress: [
              { ip: "127.100.0.9", ipMode: "VIP" },
              { ip: "127.100.0.10", ipMode: "Proxy" },
              { ip: "10.0.0.1" },
              { hostname: "lb.example" },
            ],
          },
        },
      },
      ports: [port("lb", "127.96.0.41", eps)],
      problems: [],
      loadBalancerIp: undefined,
      healthCheckNodePort: undefined,
      localReadyEndpoints: 1,
    });
    const ips = (type: string) =>
      withIngressFrontends([view(type)]).flatMap((p) =>
        p.frontends.filter((f) => f.kind === "LoadBalancer").map((f) => `${f.ip}:${f.port}`),
      );
    assert.deepEqual(ips("LoadBalancer"), ["127.100.0.9:80"]);
    assert.deepEqual(ips("ClusterIP"), []);
    const m = kernelModel(withIngressFrontends([view("LoadBalancer")]), OPTIONS);
    assert.equal(
      m.services.get("127.100.0.9 . tcp . 80"),
      m.services.get("127.96.0.41 . tcp . 80"),
    );
  });
});

const udp = (name: string, clusterIP: string, endpoints: EndpointInfo[]) =>
  port(name, clusterIP, endpoints, {
    protocol: "UDP",
    frontends: [{ ip: clusterIP, port: 53, protocol: "UDP", kind: "ClusterIP" }],
  });

describe("staleUdp", () => {
  const cases: {
    name: string;
    before: ServicePortState[];
    after: ServicePortState[];
    want: { frontend: string; endpoint?: string }[];
  }[] = [
    {
      name: "an endpoint removed: its flows",
      before: [udp("dns", "127.96.0.10", [ep("127.244.0.2"), ep("127.244.0.3")])],
      after: [udp("dns", "127.96.0.10", [ep("127.244.0.3")])],
      want: [{ frontend: "127.96.0.10:53", endpoint: "127.244.0.2:8080" }],
    },
    {
      name: "the first endpoint of a rejected ClusterIP: every flow to it",
      before: [udp("dns", "127.96.0.10", [])],
      after: [udp("dns", "127.96.0.10", [ep("127.244.0.3")])],
      want: [{ frontend: "127.96.0.10:53" }],
    },
    {
      name: "an endpoint added beside another: nothing",
      before: [udp("dns", "127.96.0.10", [ep("127.244.0.2")])],
      after: [udp("dns", "127.96.0.10", [ep("127.244.0.2"), ep("127.244.0.3")])],
      want: [],
    },
    {
      name: "TCP: nothing",
      before: [port("web", "127.96.0.11", [ep("127.244.0.2")])],
      after: [port("web", "127.96.0.11", [])],
      want: [],
    },
  ];
  for (const c of cases) {
    test(c.name, () =>
      assert.deepEqual(
        staleUdp(kernelModel(c.before, OPTIONS), kernelModel(c.after, OPTIONS)),
        c.want,
      ),
    );
  }
});

/** A LoadBalancer Service port at `lb` whose `loadBalancerSourceRanges` are `cidrs`. */
const guarded = (lb: string, cidrs: string[], allowNode = false) =>
  port("guarded", "127.96.0.30", [ep("127.244.0.2")], {
    frontends: [
      { ip: "127.96.0.30", port: 80, protocol: "TCP", kind: "ClusterIP" },
      { ip: lb, port: 80, protocol: "TCP", kind: "LoadBalancer" },
    ],
    sourceRanges: { cidrs, allowNode },
  });

describe("loadBalancerSourceRanges", () => {
  test("the load balancer IP goes through a fw- chain dropping other sources; the ClusterIP does not", () => {
    const m = kernelModel([guarded("127.100.0.7", ["127.244.0.0/24", "127.77.0.0/16"])], OPTIONS);
    assert.deepEqual([...m.firewall.keys()], ["127.100.0.7 . tcp . 80"]);
    const fw = m.firewall.get("127.100.0.7 . tcp . 80") ?? "";
    assert.match(fw, /^fw-[0-9a-f]{8}-default\/guarded\/tcp\/-$/);
    assert.deepEqual(m.chains.get(fw), ["ip saddr != { 127.244.0.0/24, 127.77.0.0/16 } drop"]);
    assert.match(m.services.get("127.100.0.7 . tcp . 80") ?? "", /^svc-/, "then DNATed as before");
    const script = kernelFullScript(m, OPTIONS);
    assert.match(
      script,
      /type filter hook prerouting priority dstnat - 10; policy accept;\n\s+iifname "lkab12\*" ip daddr \. meta l4proto \. th dport vmap @firewall-ips/,
    );
    assert.match(script, /elements = \{ 127\.100\.0\.7 \. tcp \. 80 : goto fw-/);
  });
  test("a range holding the node's IP also lets the load balancer IP in (kube-proxy's allowFromNode)", () => {
    const m = kernelModel([guarded("127.100.0.7", ["127.0.0.0/8"], true)], OPTIONS);
    assert.deepEqual(
      [...m.chains.entries()].filter(([c]) => c.startsWith("fw-")).map(([, r]) => r),
      [["ip saddr != { 127.0.0.0/8, 127.100.0.7 } drop"]],
    );
  });
  test("no endpoints: rejected as before, no firewall", () => {
    const m = kernelModel(
      [{ ...guarded("127.100.0.7", ["127.77.0.0/16"]), endpoints: [] }],
      OPTIONS,
    );
    assert.equal(m.firewall.size, 0);
    assert.ok(m.rejected.has("127.100.0.7 . tcp . 80"));
  });
  test("a change of the ranges refills the fw- chain only; dropping them deletes it and its element", () => {
    const a = kernelModel([guarded("127.100.0.7", ["127.77.0.0/16"])], OPTIONS);
    const b = kernelModel([guarded("127.100.0.7", ["127.78.0.0/16"])], OPTIONS);
    const fw = [...a.firewall.values()][0] ?? "";
    assert.equal(
      kernelUpdateScript(a, b, OPTIONS),
      `flush chain ip loopkube-ab12-svc ${fw}\nadd rule ip loopkube-ab12-svc ${fw} ip saddr != { 127.78.0.0/16 } drop\n`,
    );
    const { sourceRanges: _r, ...open } = guarded("127.100.0.7", []);
    const down = kernelUpdateScript(a, kernelModel([open], OPTIONS), OPTIONS) ?? "";
    assert.match(
      down,
      /^delete element ip loopkube-ab12-svc firewall-ips \{ 127\.100\.0\.7 \. tcp \. 80 \}$/m,
    );
    assert.ok(
      down.indexOf("delete element") < down.indexOf(`delete chain ip loopkube-ab12-svc ${fw}`),
    );
  });
});

/** Three states of the table: endpoints come and go, one Service goes away, the sticky one stays. */
const V2 = [
  guarded("127.100.0.7", ["127.77.0.0/16"]),
  port("two", "127.96.0.20", [ep("127.244.0.2"), ep("127.244.0.3"), ep("127.244.0.5")]),
  port("sticky", "127.96.0.21", [ep("127.244.0.2")], { affinityTimeoutSeconds: 600 }),
  port("none", "127.96.0.22", [ep("127.244.0.6")], { affinityTimeoutSeconds: 60 }),
  port("unready", "127.96.0.23", [ep("127.244.0.4", { ready: false })]),
];
const V3 = [
  guarded("127.100.0.8", ["127.78.0.0/16", "127.244.0.0/16"], true),
  port("sticky", "127.96.0.21", [ep("127.244.0.2")], { affinityTimeoutSeconds: 600 }),
  port("none", "127.96.0.22", [ep("127.244.0.7")], { affinityTimeoutSeconds: 30 }),
  port("unready", "127.96.0.23", [ep("127.244.0.4")]),
];

describe("kernelUpdateScript", () => {
  const m1 = kernelModel(PORTS, OPTIONS);
  const m2 = kernelModel(V2, OPTIONS);
  const update = kernelUpdateScript(m1, m2, OPTIONS) ?? "";
  test("nothing when nothing changed", () =>
    assert.equal(kernelUpdateScript(m1, kernelModel(PORTS, OPTIONS), OPTIONS), undefined));
  test("touches only the changed Services, never the whole table", () => {
    assert.doesNotMatch(update, /table/);
    assert.doesNotMatch(update, /\/sticky\//, "the unchanged sticky Service is left alone");
    assert.match(update, /^flush chain ip loopkube-ab12-svc svc-\S+\/two\//m);
    assert.match(
      update,
      /^add chain ip loopkube-ab12-svc ep-\S+\/two\/\S+__127\.244\.0\.5\/8080$/m,
    );
    assert.match(
      update,
      /^delete element ip loopkube-ab12-svc no-endpoint-services \{ 127\.96\.0\.22 \. tcp \. 80 \}$/m,
    );
    assert.match(
      update,
      /^add element ip loopkube-ab12-svc service-ips \{ 127\.96\.0\.22 \. tcp \. 80 : goto svc-/m,
    );
  });
  test("a Service gone: its elements, chains and affinity sets deleted", () => {
    const down = kernelUpdateScript(m2, kernelModel(V3, OPTIONS), OPTIONS) ?? "";
    assert.match(
      down,
      /^delete element ip loopkube-ab12-svc service-ips \{ 127\.96\.0\.20 \. tcp \. 80 \}$/m,
    );
    assert.match(down, /^delete chain ip loopkube-ab12-svc svc-\S+\/two\//m);
    assert.match(
      down,
      /^delete set ip loopkube-ab12-svc aff-\S+\/none\/\S+__127\.244\.0\.6\/8080$/m,
    );
    assert.ok(
      down.indexOf("delete element ip loopkube-ab12-svc service-ips { 127.96.0.20") <
        down.indexOf("delete chain"),
      "no chain is deleted while the map still points at it",
    );
  });

  const kernel =
    process.getuid?.() === 0 &&
    spawnSync("nft", ["--version"]).status === 0 &&
    spawnSync("unshare", ["-n", "true"]).status === 0;
  test("in a private network namespace: the updates give the table a full write gives, and a client's affinity entry of an unchanged Service survives them", {
    skip: kernel ? false : "needs root, nft and unshare",
  }, () => {
    const dir = mkdtempSync(join(tmpdir(), "nft-update-"));
    try {
      const models: KernelModel[] = [m1, m2, kernelModel(V3, OPTIONS)];
      const files = ["full.nft", "up2.nft", "up3.nft", "want.nft"].map((f) => join(dir, f));
      const sticky = [...m1.affinity.keys()].find((s) => s.includes("/sticky/")) ?? "";
      const contents = [
        kernelFullScript(m1, OPTIONS),
        kernelUpdateScript(m1, models[1] as KernelModel, OPTIONS) ?? "",
        kernelUpdateScript(models[1] as KernelModel, models[2] as KernelModel, OPTIONS) ?? "",
        kernelFullScript(models[2] as KernelModel, OPTIONS),
      ];
      contents.forEach((c, i) => {
        writeFileSync(files[i] as string, c);
      });
      const list = `nft -j list table ip ${OPTIONS.table}`;
      const sh = (script: string) =>
        spawnSync("unshare", ["-n", "sh", "-ec", script, "sh", ...files], { encoding: "utf8" });
      const got = sh(
        `nft -f "$1"; nft add element ip ${OPTIONS.table} ${sticky} { 127.244.0.9 }; nft -f "$2"; nft -f "$3"; ${list}`,
      );
      assert.equal(got.status, 0, got.stderr);
      const want = sh(`nft -f "$4"; ${list}`);
      assert.equal(want.status, 0, want.stderr);
      assert.deepEqual(normalize(got.stdout, sticky), normalize(want.stdout, sticky));
      assert.match(got.stdout, /127\.244\.0\.9/, "the affinity entry is still there");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** `nft -j list table` as sorted lines without handles, the test's affinity entry left out. */
function normalize(json: string, sticky: string): string[] {
  const items = (JSON.parse(json) as { nftables: Record<string, Record<string, unknown>>[] })
    .nftables;
  return items
    .flatMap((item) =>
      Object.entries(item).map(([kind, v]) => {
        const { handle: _h, ...rest } = v;
        if (kind === "set" && rest.name === sticky) delete rest.elem;
        return `${kind} ${JSON.stringify(rest)}`;
      }),
    )
    .filter((l) => !l.startsWith("metainfo"))
    .sort();
}
