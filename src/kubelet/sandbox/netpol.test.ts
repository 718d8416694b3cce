import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, test } from "node:test";
import {
  allowsFor,
  ipBlockRanges,
  mergeRanges,
  type NetworkPolicy,
  type PolicyInputs,
  type PolicyPod,
  permits,
  policyTypesOf,
  rulesetOf,
  unpoliceable,
} from "./netpol.ts";

const pod = (ns: string, name: string, ip: string, labels: Record<string, string>): PolicyPod => ({
  namespace: ns,
  name,
  ip,
  labels,
  ports: [{ name: "http", port: 8080, protocol: "TCP" }],
  link: `lkab${name.padEnd(6, "0").slice(0, 6)}`,
});

const db = pod("prod", "db", "127.244.0.2", { app: "db" });
const web = pod("prod", "web", "127.244.0.3", { app: "web" });
const other = pod("dev", "other", "127.244.0.4", { app: "web" });

const policy = (name: string, spec: NetworkPolicy["spec"], ns = "prod"): NetworkPolicy => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "NetworkPolicy",
  metadata: { name, namespace: ns },
  ...(spec ? { spec } : {}),
});

const inputs = (policies: NetworkPolicy[]): PolicyInputs => ({
  policies,
  pods: [db, web, other],
  namespaces: new Map([
    ["prod", { "kubernetes.io/metadata.name": "prod", env: "prod" }],
    ["dev", { "kubernetes.io/metadata.name": "dev" }],
    ["kube-system", { "kubernetes.io/metadata.name": "kube-system" }],
  ]),
  services: [
    { ip: "127.96.0.20", port: 80, protocol: "TCP", endpoints: [{ ip: db.ip, port: 8080 }] },
  ],
  nodeIPs: ["127.0.0.1", "127.244.0.1"],
  dnsIP: "127.96.0.10",
});

describe("policyTypesOf defaults as kube does", () => {
  for (const [name, spec, want] of [
    ["no types, no egress", { podSelector: {} }, ["Ingress"]],
    ["no types, egress rules", { podSelector: {}, egress: [{}] }, ["Ingress", "Egress"]],
    ["given", { podSelector: {}, policyTypes: ["Egress"] }, ["Egress"]],
  ] as const) {
    test(name, () => assert.deepEqual(policyTypesOf(policy("p", spec as never)), want));
  }
});

describe("ipBlockRanges and mergeRanges", () => {
  test("an except cuts a hole", () => {
    assert.deepEqual(ipBlockRanges("10.0.0.0/24", ["10.0.0.128/25"]), [[167772160, 167772287]]);
    assert.equal(ipBlockRanges("10.0.0.0/24", ["10.0.0.4/30"]).length, 2);
  });
  test("an IPv6 block holds no address here", () => assert.deepEqual(ipBlockRanges("::/0"), []));
  test("touching and overlapping ranges merge", () =>
    assert.deepEqual(
      mergeRanges([
        [5, 9],
        [1, 4],
        [8, 12],
        [20, 20],
      ]),
      [
        [1, 12],
        [20, 20],
      ],
    ));
});

/** [case, policies, target pod, direction, peer IP, protocol, port, allowed (undefined: not isolated)] */
const cases: [
  string,
  NetworkPolicy[],
  PolicyPod,
  "Ingress" | "Egress",
  string,
  string,
  number,
  boolean | undefined,
][] = [
  ["no policy: not isolated", [], db, "Ingress", web.ip, "TCP", 8080, undefined],
  [
    "policy of another namespace does not isolate",
    [policy("x", { podSelector: {} }, "dev")],
    db,
    "Ingress",
    web.ip,
    "TCP",
    8080,
    undefined,
  ],
  [
    "default deny ingress",
    [policy("deny", { podSelector: {} })],
    db,
    "Ingress",
    web.ip,
    "TCP",
    8080,
    false,
  ],
  [
    "default deny ingress leaves egress open",
    [policy("deny", { podSelector: {} })],
    db,
    "Egress",
    web.ip,
    "TCP",
    8080,
    undefined,
  ],
  [
    "allow all ingress (an empty rule)",
    [policy("all", { podSelector: {}, ingress: [{}] })],
    db,
    "Ingress",
    other.ip,
    "UDP",
    9,
    true,
  ],
  [
    "podSelector peer: same namespace only",
    [
      policy("p", {
        podSelector: { matchLabels: { app: "db" } },
        ingress: [{ from: [{ podSelector: { matchLabels: { app: "web" } } }] }],
      }),
    ],
    db,
    "Ingress",
    other.ip,
    "TCP",
    8080,
    false,
  ],
  [
    "podSelector peer allows the selected pod",
    [
      policy("p", {
        podSelector: { matchLabels: { app: "db" } },
        ingress: [{ from: [{ podSelector: { matchLabels: { app: "web" } } }] }],
      }),
    ],
    db,
    "Ingress",
    web.ip,
    "TCP",
    8080,
    true,
  ],
  [
    "namespaceSelector alone: every pod there",
    [
      policy("p", {
        podSelector: {},
        ingress: [
          {
            from: [
              { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "dev" } } },
            ],
          },
        ],
      }),
    ],
    db,
    "Ingress",
    other.ip,
    "TCP",
    1,
    true,
  ],
  [
    "namespaceSelector and podSelector together: both must match",
    [
      policy("p", {
        podSelector: {},
        ingress: [
          { from: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: "nope" } } }] },
        ],
      }),
    ],
    db,
    "Ingress",
    other.ip,
    "TCP",
    1,
    false,
  ],
  [
    "two peers are ORed",
    [
      policy("p", {
        podSelector: {},
        ingress: [
          { from: [{ namespaceSelector: {} }, { podSelector: { matchLabels: { app: "nope" } } }] },
        ],
      }),
    ],
    db,
    "Ingress",
    other.ip,
    "TCP",
    1,
    true,
  ],
  [
    "ipBlock with except",
    [
      policy("p", {
        podSelector: {},
        ingress: [{ from: [{ ipBlock: { cidr: "127.244.0.0/16", except: ["127.244.0.4/32"] } }] }],
      }),
    ],
    db,
    "Ingress",
    other.ip,
    "TCP",
    1,
    false,
  ],
  [
    "ipBlock covers",
    [
      policy("p", {
        podSelector: {},
        ingress: [{ from: [{ ipBlock: { cidr: "127.244.0.0/16", except: ["127.244.0.4/32"] } }] }],
      }),
    ],
    db,
    "Ingress",
    web.ip,
    "TCP",
    1,
    true,
  ],
  [
    "numeric port, default TCP: other port refused",
    [policy("p", { podSelector: {}, ingress: [{ ports: [{ port: 8080 }] }] })],
    db,
    "Ingress",
    web.ip,
    "TCP",
    8081,
    false,
  ],
  [
    "numeric port, default TCP: UDP refused",
    [policy("p", { podSelector: {}, ingress: [{ ports: [{ port: 8080 }] }] })],
    db,
    "Ingress",
    web.ip,
    "UDP",
    8080,
    false,
  ],
  [
    "endPort range",
    [policy("p", { podSelector: {}, ingress: [{ ports: [{ port: 8000, endPort: 8100 }] }] })],
    db,
    "Ingress",
    web.ip,
    "TCP",
    8080,
    true,
  ],
  [
    "named port of the destination (ingress: the pod itself)",
    [policy("p", { podSelector: {}, ingress: [{ ports: [{ port: "http" }] }] })],
    db,
    "Ingress",
    web.ip,
    "TCP",
    8080,
    true,
  ],
  [
    "named port with another protocol names nothing",
    [policy("p", { podSelector: {}, ingress: [{ ports: [{ port: "http", protocol: "UDP" }] }] })],
    db,
    "Ingress",
    web.ip,
    "UDP",
    8080,
    false,
  ],
  [
    "protocol without port: every port of it",
    [policy("p", { podSelector: {}, ingress: [{ ports: [{ protocol: "UDP" }] }] })],
    db,
    "Ingress",
    web.ip,
    "UDP",
    5353,
    true,
  ],
  [
    "egress default deny",
    [policy("p", { podSelector: {}, policyTypes: ["Egress"] })],
    web,
    "Egress",
    db.ip,
    "TCP",
    8080,
    false,
  ],
  [
    "egress named port resolves on the peer",
    [
      policy("p", {
        podSelector: { matchLabels: { app: "web" } },
        egress: [
          { to: [{ podSelector: { matchLabels: { app: "db" } } }], ports: [{ port: "http" }] },
        ],
      }),
    ],
    web,
    "Egress",
    db.ip,
    "TCP",
    8080,
    true,
  ],
  [
    "egress named port without `to`: any pod's port of that name",
    [
      policy("p", {
        podSelector: { matchLabels: { app: "web" } },
        egress: [{ ports: [{ port: "http" }] }],
      }),
    ],
    web,
    "Egress",
    other.ip,
    "TCP",
    8080,
    true,
  ],
  [
    "DNS egress as users write it: kube-dns in kube-system",
    [
      policy("dns", {
        podSelector: {},
        policyTypes: ["Egress"],
        egress: [
          {
            to: [
              {
                namespaceSelector: {
                  matchLabels: { "kubernetes.io/metadata.name": "kube-system" },
                },
                podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
              },
            ],
            ports: [
              { port: 53, protocol: "UDP" },
              { port: 53, protocol: "TCP" },
            ],
          },
        ],
      }),
    ],
    web,
    "Egress",
    "127.96.0.10",
    "UDP",
    53,
    true,
  ],
  [
    "DNS egress by named port dns",
    [
      policy("dns", {
        podSelector: {},
        policyTypes: ["Egress"],
        egress: [{ ports: [{ port: "dns", protocol: "UDP" }] }],
      }),
    ],
    web,
    "Egress",
    "127.96.0.10",
    "UDP",
    53,
    true,
  ],
];

describe("allowsFor and permits follow kube's NetworkPolicy semantics", () => {
  for (const [name, policies, target, dir, peer, proto, port, want] of cases) {
    test(name, () => {
      const allows = allowsFor(target, dir, inputs(policies));
      assert.equal(allows === undefined ? undefined : permits(allows, peer, proto, port), want);
    });
  }
});

describe("rulesetOf", () => {
  const egressToDb = policy("to-db", {
    podSelector: { matchLabels: { app: "web" } },
    policyTypes: ["Egress"],
    egress: [{ to: [{ podSelector: { matchLabels: { app: "db" } } }], ports: [{ port: 8080 }] }],
  });
  const ingressDb = policy("db", {
    podSelector: { matchLabels: { app: "db" } },
    ingress: [{ from: [{ ipBlock: { cidr: "127.244.0.0/24", except: ["127.244.0.4/32"] } }] }],
  });
  const script = rulesetOf("loopkube-ab12", inputs([egressToDb, ingressDb]));

  test("replaces only its own table, in one transaction", () => {
    const tables = script.split("\n").filter((l) => /\btable\b/.test(l));
    assert.deepEqual(tables, [
      "table ip loopkube-ab12",
      "delete table ip loopkube-ab12",
      "table ip loopkube-ab12 {",
    ]);
  });
  test("jumps from the pods' links to their chains, and the ClusterIP of an allowed endpoint", () => {
    assert.match(script, /iifname "lkabweb000" jump egress-lkabweb000/);
    assert.match(script, /oifname "lkabdb0000" jump ingress-lkabdb0000/);
    assert.match(script, /ip daddr \{ 127\.244\.0\.2 \} tcp dport 8080 return/);
    assert.match(script, /ip daddr 127\.96\.0\.20 tcp dport 80 return/);
    assert.doesNotMatch(script, /127\.96\.0\.10/, "DNS is not allowed by these policies");
    assert.match(
      script,
      /ip saddr \{ 127\.244\.0\.0-127\.244\.0\.3, 127\.244\.0\.5-127\.244\.0\.255 \} return/,
    );
  });
  test("no policy: base chains without rules", () => {
    assert.doesNotMatch(rulesetOf("loopkube-ab12", inputs([])), /jump|reject/);
  });
  test("a pod without its own veth is named as unpoliceable", () => {
    const i = inputs([ingressDb]);
    i.pods = i.pods.map((p) =>
      p === db ? ({ ...p, link: undefined } as unknown as PolicyPod) : p,
    );
    const found = unpoliceable(i);
    assert.deepEqual(
      found.map((f) => f.pod.name),
      ["db"],
    );
  });
  test("with the links' prefix, a pod's packets from another address than its own are dropped", () => {
    const guarded = rulesetOf("loopkube-ab12", inputs([ingressDb]), { linkPrefix: "lkab12" });
    assert.match(guarded, /elements = \{ "lkabdb0000" \. 127\.244\.0\.2, /);
    assert.match(guarded, /iifname "lkab12\*" iifname \. ip saddr != @pod-sources drop/);
    assert.doesNotMatch(script, /pod-sources/);
  });
  const nftChecks = process.getuid?.() === 0 && spawnSync("nft", ["--version"]).status === 0;
  test("nft -c accepts the script (checks only: nothing is changed)", {
    skip: nftChecks ? false : "needs root and nft",
  }, () => {
    for (const s of [
      script,
      rulesetOf("loopkube-ab12", inputs([egressToDb, ingressDb]), { linkPrefix: "lkab12" }),
    ]) {
      const r = spawnSync("nft", ["-c", "-f", "-"], { input: s, encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
    }
  });
});
