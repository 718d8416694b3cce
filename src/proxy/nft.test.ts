import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, test } from "node:test";
import { kernelPorts, kernelServicesScript } from "./nft.ts";
import type { EndpointInfo, ServicePortState } from "./state.ts";

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
      /127\.244\.0\.1 \. tcp \. 30003 : goto svc-\d+/,
      "the NodePort at the gateway",
    );
    assert.match(
      script,
      /numgen random mod 2 vmap \{ 0 : goto svc-\d+-ep-0, 1 : goto svc-\d+-ep-1 \}/,
    );
    assert.match(script, /timeout 600s;/);
    assert.match(script, /update @svc-\d+-ep-0-affinity \{ ip saddr \}/);
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
