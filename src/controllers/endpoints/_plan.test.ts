import assert from "node:assert/strict";
import { test } from "node:test";
import type { Pod, Service } from "kubernetes-types/core/v1.js";
import { planEndpoints } from "./_plan.ts";
import { desiredSubsets } from "./_subsets.ts";

function pod(
  name: string,
  ip: string,
  o: { ready?: boolean; deleting?: boolean; phase?: string; port?: number; hostname?: string } = {},
): Pod {
  return {
    metadata: {
      name,
      namespace: "default",
      uid: `uid-${name}`,
      ...(o.deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}),
    },
    spec: {
      nodeName: "n1",
      containers: [{ name: "c", ports: [{ name: "http", containerPort: o.port ?? 8080 }] }],
      ...(o.hostname ? { hostname: o.hostname, subdomain: "web" } : {}),
    },
    status: {
      phase: o.phase ?? "Running",
      podIP: ip,
      conditions: [{ type: "Ready", status: o.ready === false ? "False" : "True" }],
    },
  };
}

const svc = (spec: Partial<NonNullable<Service["spec"]>> = {}): Service => ({
  metadata: { name: "web", namespace: "default", labels: { app: "web" } },
  spec: {
    selector: { app: "web" },
    ports: [{ name: "http", port: 80, targetPort: "http" as unknown as number }],
    ...spec,
  },
});

const ips = (xs: Array<{ ip: string }> | undefined) => (xs ?? []).map((a) => a.ip);

test("desiredSubsets sorts pods into ready and not ready addresses, per resolved port", () => {
  const cases: Array<[string, Service, Pod[], Array<[number | undefined, string[], string[]]>]> = [
    [
      "ready and unready",
      svc(),
      [pod("b", "127.244.0.10", { ready: false }), pod("a", "127.244.0.9")],
      [[8080, ["127.244.0.9"], ["127.244.0.10"]]],
    ],
    ["terminating pods left out", svc(), [pod("a", "127.244.0.2", { deleting: true })], []],
    [
      "publishNotReadyAddresses keeps terminating and unready pods ready",
      svc({ publishNotReadyAddresses: true }),
      [pod("a", "127.244.0.2", { deleting: true }), pod("b", "127.244.0.3", { ready: false })],
      [[8080, ["127.244.0.2", "127.244.0.3"], []]],
    ],
    ["terminal pods left out", svc(), [pod("a", "127.244.0.2", { phase: "Succeeded" })], []],
    [
      "a named port resolving differently splits the subsets",
      svc(),
      [pod("a", "127.244.0.2"), pod("b", "127.244.0.3", { port: 9090 })],
      [
        [8080, ["127.244.0.2"], []],
        [9090, ["127.244.0.3"], []],
      ],
    ],
    [
      "headless without ports",
      svc({ clusterIP: "None", ports: [] }),
      [pod("a", "127.244.0.2")],
      [[undefined, ["127.244.0.2"], []]],
    ],
  ];
  for (const [name, s, pods, want] of cases) {
    const got = desiredSubsets(s, pods).subsets.map(
      (x) => [x.ports?.[0]?.port, ips(x.addresses), ips(x.notReadyAddresses)] as const,
    );
    assert.deepEqual(got, want, name);
  }
});

test("desiredSubsets fills address fields and truncates beyond the maximum, ready first", () => {
  const [sub] = desiredSubsets(svc(), [pod("web-0", "127.244.0.2", { hostname: "web-0" })]).subsets;
  assert.deepEqual(sub?.addresses?.[0], {
    ip: "127.244.0.2",
    hostname: "web-0",
    nodeName: "n1",
    targetRef: { kind: "Pod", namespace: "default", name: "web-0", uid: "uid-web-0" },
  });
  assert.deepEqual(sub?.ports, [{ name: "http", port: 8080, protocol: "TCP" }]);
  const many = [1, 2, 3, 4].map((i) => pod(`p${i}`, `127.244.0.${i}`, { ready: i % 2 === 0 }));
  const cut = desiredSubsets(svc(), many, 3);
  assert.equal(cut.truncated, true);
  assert.deepEqual(ips(cut.subsets[0]?.addresses), ["127.244.0.2", "127.244.0.4"]);
  assert.deepEqual(ips(cut.subsets[0]?.notReadyAddresses), ["127.244.0.1"]);
});

test("planEndpoints labels, annotates, and writes only on change", () => {
  const opts = { triggerTime: "2026-01-01T00:00:00Z" };
  const first = planEndpoints(
    svc({ clusterIP: "None" }),
    [pod("a", "127.244.0.2")],
    undefined,
    opts,
  );
  assert.ok(first);
  assert.deepEqual(first.metadata?.labels, {
    app: "web",
    "endpointslice.kubernetes.io/skip-mirror": "true",
    "service.kubernetes.io/headless": "",
  });
  assert.equal(
    first.metadata?.annotations?.["endpoints.kubernetes.io/last-change-trigger-time"],
    opts.triggerTime,
  );
  assert.equal(
    planEndpoints(svc({ clusterIP: "None" }), [pod("a", "127.244.0.2")], first, {
      triggerTime: "later",
    }),
    undefined,
  );
  const over = planEndpoints(svc(), [pod("a", "127.244.0.2"), pod("b", "127.244.0.3")], first, {
    ...opts,
    maxAddresses: 1,
  });
  assert.equal(over?.metadata?.annotations?.["endpoints.kubernetes.io/over-capacity"], "truncated");
  assert.equal(over?.metadata?.labels?.["service.kubernetes.io/headless"], undefined);
  const empty = planEndpoints(svc(), [], undefined, opts);
  assert.equal(empty?.subsets, undefined);
});

test("planEndpoints drops the trigger-time annotation when the sync has no trigger time", () => {
  const first = planEndpoints(svc(), [pod("a", "127.244.0.2")], undefined, {
    triggerTime: "2026-01-01T00:00:00Z",
  });
  assert.ok(first);
  const next = planEndpoints(svc(), [pod("a", "127.244.0.2"), pod("b", "127.244.0.3")], first, {});
  assert.ok(next);
  assert.equal(
    next.metadata?.annotations?.["endpoints.kubernetes.io/last-change-trigger-time"],
    undefined,
  );
});
