import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../../api/types.ts";
import { type Condition, precheck, probeCondition, withCondition } from "./_availability.ts";

const ref = { namespace: "kube-system", name: "metrics-server", port: 443 };
const service = (spec: object): KubeObject =>
  ({ metadata: { name: "metrics-server", namespace: "kube-system" }, spec }) as KubeObject;
const endpoints = (subsets: object[]): KubeObject =>
  ({ metadata: { name: "metrics-server", namespace: "kube-system" }, subsets }) as KubeObject;
const https = { ports: [{ name: "https", port: 443 }] };

test("precheck words each missing piece as kube-aggregator's availability controller", () => {
  const cases: Array<[string, KubeObject | undefined, KubeObject | undefined, string | undefined]> =
    [
      [
        "no Service",
        undefined,
        undefined,
        'ServiceNotFound: service/metrics-server in "kube-system" is not present',
      ],
      [
        "another port",
        service({ ports: [{ port: 8443 }] }),
        undefined,
        'ServicePortError: service/metrics-server in "kube-system" is not listening on port 443',
      ],
      [
        "no Endpoints",
        service(https),
        undefined,
        'EndpointsNotFound: cannot find endpoints for service/metrics-server in "kube-system"',
      ],
      [
        "no ready address",
        service(https),
        endpoints([
          { notReadyAddresses: [{ ip: "127.244.0.9" }], ports: [{ name: "https", port: 4443 }] },
        ]),
        'MissingEndpoints: endpoints for service/metrics-server in "kube-system" have no addresses with port name "https"',
      ],
      [
        "an address under another port name",
        service(https),
        endpoints([{ addresses: [{ ip: "127.244.0.9" }], ports: [{ name: "http", port: 4443 }] }]),
        'MissingEndpoints: endpoints for service/metrics-server in "kube-system" have no addresses with port name "https"',
      ],
      [
        "ready: the probe decides",
        service(https),
        endpoints([{ addresses: [{ ip: "127.244.0.9" }], ports: [{ name: "https", port: 4443 }] }]),
        undefined,
      ],
      [
        "an ExternalName Service: the probe decides",
        service({ type: "ExternalName" }),
        undefined,
        undefined,
      ],
    ];
  for (const [what, svc, eps, want] of cases) {
    const c = precheck(ref, { service: () => svc, endpoints: () => eps });
    assert.equal(c ? `${c.reason}: ${c.message}` : undefined, want, what);
    if (c) assert.equal(c.status, "False", what);
  }
  const broken = precheck(ref, {
    service: () => {
      throw new Error("database is locked");
    },
    endpoints: () => undefined,
  });
  assert.equal(
    broken?.message,
    'service/metrics-server in "kube-system" cannot be checked due to: database is locked',
  );
  assert.equal(broken?.reason, "ServiceAccessError");
});

test("probeCondition passes a 2xx and words a failed discovery check", () => {
  const url = "https://127.244.0.9:4443/apis/metrics.k8s.io/v1beta1";
  assert.deepEqual(probeCondition(url, { ok: true }), {
    type: "Available",
    status: "True",
    reason: "Passed",
    message: "all checks passed",
  });
  assert.equal(
    probeCondition(url, { status: 403 }).message,
    `failing or missing response from ${url}: bad status from ${url}: 403`,
  );
  assert.equal(
    probeCondition(url, { error: "dial tcp 127.244.0.9:4443: connect: connection refused" })
      .message,
    `failing or missing response from ${url}: Get "${url}": dial tcp 127.244.0.9:4443: connect: connection refused`,
  );
});

test("withCondition keeps the transition time while the status stays, and skips no-op writes", () => {
  const t0 = "2026-01-01T00:00:00Z";
  const t1 = "2026-01-01T00:01:00Z";
  const down: Condition = {
    type: "Available",
    status: "False",
    reason: "ServiceNotFound",
    message: "a",
  };
  const first = withCondition([], down, t0);
  assert.deepEqual(first, [{ ...down, lastTransitionTime: t0 }]);
  assert.equal(withCondition(first ?? [], down, t1), undefined);
  const other = withCondition(
    first ?? [],
    { ...down, reason: "MissingEndpoints", message: "b" },
    t1,
  );
  assert.equal(other?.[0]?.lastTransitionTime, t0);
  const up = withCondition(
    first ?? [],
    { ...down, status: "True", reason: "Passed", message: "c" },
    t1,
  );
  assert.equal(up?.[0]?.lastTransitionTime, t1);
});
