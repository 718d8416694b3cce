import assert from "node:assert/strict";
import { test } from "node:test";
import { isStatusError } from "../../api/errors.ts";
import type { KubeObject } from "../../api/types.ts";
import { ServiceAllocator } from "./services.ts";

function svc(name: string, spec: Record<string, unknown>): KubeObject {
  return { apiVersion: "v1", kind: "Service", metadata: { name, namespace: "default" }, spec };
}

function allocator() {
  return new ServiceAllocator({
    serviceCidr: "127.96.0.0/16",
    nodePortRange: { min: 30000, max: 32767 },
    random: () => 0,
  });
}

test("ServiceAllocator gives a ClusterIP Service an address from the dynamic band", () => {
  const a = allocator();
  const s = svc("web", { ports: [{ port: 80 }] });
  a.create(s);
  const spec = s.spec as Record<string, unknown>;
  assert.equal(spec["clusterIP"], "127.96.1.1");
  assert.deepEqual(spec["clusterIPs"], ["127.96.1.1"]);
  assert.deepEqual(spec["ipFamilies"], ["IPv4"]);
  assert.equal(spec["ipFamilyPolicy"], "SingleStack");
});

test("ServiceAllocator honours a requested IP and refuses it when taken or out of range", () => {
  const a = allocator();
  a.create(svc("kubernetes", { clusterIP: "127.96.0.1" }));
  assert.throws(
    () => a.create(svc("again", { clusterIP: "127.96.0.1" })),
    (e) =>
      isStatusError(e, "Invalid") &&
      /provided IP is already allocated/.test(e.message) &&
      e.message.startsWith('Service "again" is invalid: spec.clusterIPs'),
  );
  assert.throws(
    () => a.create(svc("outside", { clusterIP: "10.0.0.1" })),
    (e) =>
      isStatusError(e, "Invalid") &&
      /is not in the valid range. The range of valid IPs is 127.96.0.0\/16/.test(e.message),
  );
});

test("ServiceAllocator leaves headless Services without an address", () => {
  const a = allocator();
  const s = svc("db", { clusterIP: "None", selector: { app: "db" } });
  a.create(s);
  assert.deepEqual((s.spec as Record<string, unknown>)["clusterIPs"], ["None"]);
  assert.equal((s.spec as Record<string, unknown>)["ipFamilyPolicy"], "SingleStack");
});

test("ServiceAllocator allocates node ports and refuses a taken one", () => {
  const a = allocator();
  const s = svc("np", { type: "NodePort", ports: [{ port: 80 }, { port: 81, nodePort: 30080 }] });
  a.create(s);
  const ports = (s.spec as { ports: Array<{ nodePort: number }> }).ports;
  assert.equal(ports[1]!.nodePort, 30080);
  assert.ok(ports[0]!.nodePort >= 30000 + 86 && ports[0]!.nodePort <= 32767);
  assert.throws(
    () => a.create(svc("np2", { type: "NodePort", ports: [{ port: 80, nodePort: 30080 }] })),
    (e) =>
      isStatusError(e, "Invalid") &&
      /spec.ports\[0\].nodePort: Invalid value: 30080: provided port is already allocated/.test(
        e.message,
      ),
  );
});

test("ServiceAllocator releases on delete and a refused create takes nothing", () => {
  const a = allocator();
  const s = svc("a", { clusterIP: "127.96.0.50" });
  a.create(s);
  assert.throws(() =>
    a.create(
      svc("b", { clusterIP: "127.96.0.51", type: "NodePort", ports: [{ port: 1, nodePort: 1 }] }),
    ),
  );
  // 127.96.0.51 was rolled back, so it is free again.
  a.create(svc("c", { clusterIP: "127.96.0.51" }));
  a.release(s);
  a.create(svc("d", { clusterIP: "127.96.0.50" }));
});

test("ServiceAllocator.restore rebuilds state so nothing is handed out twice after a restart", () => {
  const first = allocator();
  const stored: KubeObject[] = [];
  for (let i = 0; i < 20; i++) {
    const s = svc(`s${i}`, { type: "NodePort", ports: [{ port: 80 }] });
    first.create(s);
    stored.push(s);
  }
  const second = allocator();
  for (const s of stored) second.restore(s);
  const taken = new Set(stored.map((s) => (s.spec as { clusterIP: string }).clusterIP));
  const ports = new Set(
    stored.map((s) => (s.spec as { ports: Array<{ nodePort: number }> }).ports[0]!.nodePort),
  );
  for (let i = 0; i < 20; i++) {
    const s = svc(`n${i}`, { type: "NodePort", ports: [{ port: 80 }] });
    second.create(s);
    assert.equal(taken.has((s.spec as { clusterIP: string }).clusterIP), false);
    assert.equal(
      ports.has((s.spec as { ports: Array<{ nodePort: number }> }).ports[0]!.nodePort),
      false,
    );
  }
});

test("ServiceAllocator.update keeps the stored ClusterIP and node ports when the new object leaves them unset", () => {
  const a = allocator();
  const old = svc("web", { type: "NodePort", ports: [{ port: 80, protocol: "TCP" }] });
  a.create(old);
  const next = svc("web", { type: "NodePort", ports: [{ port: 80, protocol: "TCP" }] });
  a.update(next, old);
  assert.equal(
    (next.spec as { clusterIP: string }).clusterIP,
    (old.spec as { clusterIP: string }).clusterIP,
  );
  assert.equal(
    (next.spec as { ports: Array<{ nodePort: number }> }).ports[0]!.nodePort,
    (old.spec as { ports: Array<{ nodePort: number }> }).ports[0]!.nodePort,
  );
  const toClusterIP = svc("web", { type: "ClusterIP", ports: [{ port: 80, nodePort: 31000 }] });
  a.update(toClusterIP, next);
  assert.equal(
    (toClusterIP.spec as { ports: Array<{ nodePort?: number }> }).ports[0]!.nodePort,
    undefined,
  );
});

test("a Local LoadBalancer gets a health check NodePort of its own; another kind of Service may not set one", () => {
  const a = allocator();
  const lb = (name: string, extra: Record<string, unknown> = {}) =>
    svc(name, {
      type: "LoadBalancer",
      externalTrafficPolicy: "Local",
      ports: [{ port: 80 }],
      ...extra,
    });
  const hc = (s: KubeObject) => (s.spec as { healthCheckNodePort?: number }).healthCheckNodePort;
  const nodePort = (s: KubeObject) =>
    (s.spec as { ports: Array<{ nodePort: number }> }).ports[0]!.nodePort;

  const first = lb("first");
  a.create(first);
  assert.ok(hc(first)! >= 30000 && hc(first)! <= 32767);
  assert.notEqual(hc(first), nodePort(first));

  const wanted = lb("wanted", { healthCheckNodePort: 30123 });
  a.create(wanted);
  assert.equal(hc(wanted), 30123);
  assert.throws(
    () => a.create(lb("clash", { healthCheckNodePort: 30123 })),
    (e) =>
      isStatusError(e, "InternalError") &&
      /failed to allocate requested HealthCheck NodePort 30123: provided port is already allocated/.test(
        e.message,
      ),
  );
  assert.throws(
    () =>
      a.create(
        svc("cluster", {
          type: "LoadBalancer",
          externalTrafficPolicy: "Cluster",
          ports: [{ port: 80 }],
          healthCheckNodePort: 30124,
        }),
      ),
    (e) =>
      isStatusError(e, "Invalid") &&
      /spec.healthCheckNodePort: Invalid value: 30124: may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'/.test(
        e.message,
      ),
  );
  // A Cluster LoadBalancer gets none.
  const cluster = svc("plain", {
    type: "LoadBalancer",
    externalTrafficPolicy: "Cluster",
    ports: [{ port: 80 }],
  });
  a.create(cluster);
  assert.equal(hc(cluster), undefined);
});

test("the health check NodePort is kept and immutable across updates, and released when the policy becomes Cluster", () => {
  const a = allocator();
  const old = svc("lb", {
    type: "LoadBalancer",
    externalTrafficPolicy: "Local",
    ports: [{ port: 80 }],
  });
  a.create(old);
  const port = (old.spec as { healthCheckNodePort: number }).healthCheckNodePort;

  const same = structuredClone(old);
  delete (same.spec as { healthCheckNodePort?: number }).healthCheckNodePort;
  a.update(same, old);
  assert.equal(
    (same.spec as { healthCheckNodePort?: number }).healthCheckNodePort,
    port,
    "kept when left unset",
  );

  const moved = structuredClone(old);
  (moved.spec as { healthCheckNodePort: number }).healthCheckNodePort = port + 1;
  assert.throws(
    () => a.update(moved, old),
    (e) =>
      isStatusError(e, "Invalid") &&
      /spec.healthCheckNodePort: Invalid value: \d+: field is immutable/.test(e.message),
  );

  const toCluster = structuredClone(old);
  (toCluster.spec as { externalTrafficPolicy: string }).externalTrafficPolicy = "Cluster";
  a.update(toCluster, old);
  assert.equal((toCluster.spec as { healthCheckNodePort?: number }).healthCheckNodePort, undefined);
  // Released: a new Service may take it now (its own nodePort given, so next() cannot take it first).
  const taker = svc("taker", {
    type: "LoadBalancer",
    externalTrafficPolicy: "Local",
    ports: [{ port: 80, nodePort: 30500 }],
    healthCheckNodePort: port,
  });
  a.create(taker);
  assert.equal((taker.spec as { healthCheckNodePort: number }).healthCheckNodePort, port);
});
