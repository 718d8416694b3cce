import assert from "node:assert/strict";
import { test } from "node:test";
import type { Container, Pod, Service } from "kubernetes-types/core/v1.js";
import { containerEnv, EnvError, type EnvSources, serviceEnv } from "./env.ts";

const svc = (ns: string, name: string, ip: string, ports: Service["spec"]): Service => ({
  metadata: { namespace: ns, name },
  spec: { clusterIP: ip, ...ports },
});
const services = [
  svc("default", "kubernetes", "127.96.0.1", { ports: [{ name: "https", port: 443 }] }),
  svc("app", "redis-main", "127.96.0.7", {
    ports: [
      { name: "db", port: 6379 },
      { name: "dns", port: 53, protocol: "UDP" },
    ],
  }),
  svc("app", "headless", "None", { ports: [{ port: 80 }] }),
  svc("other", "elsewhere", "127.96.0.9", { ports: [{ port: 80 }] }),
];
const pod = (spec: Partial<Pod["spec"]> = {}): Pod => ({
  metadata: { name: "p", namespace: "app", uid: "u-1", labels: { tier: "db" } },
  spec: { nodeName: "n1", containers: [], ...spec },
});

test("serviceEnv gives docker-link variables for the namespace's services and kubernetes", () => {
  const env = serviceEnv(pod(), services);
  assert.equal(env.REDIS_MAIN_SERVICE_HOST, "127.96.0.7");
  assert.equal(env.REDIS_MAIN_SERVICE_PORT, "6379");
  assert.equal(env.REDIS_MAIN_SERVICE_PORT_DB, "6379");
  assert.equal(env.REDIS_MAIN_SERVICE_PORT_DNS, "53");
  assert.equal(env.REDIS_MAIN_PORT, "tcp://127.96.0.7:6379");
  assert.equal(env.REDIS_MAIN_PORT_53_UDP, "udp://127.96.0.7:53");
  assert.equal(env.REDIS_MAIN_PORT_53_UDP_PROTO, "udp");
  assert.equal(env.REDIS_MAIN_PORT_6379_TCP_ADDR, "127.96.0.7");
  assert.equal(env.KUBERNETES_SERVICE_HOST, "127.96.0.1");
  assert.equal(env.KUBERNETES_SERVICE_PORT, "443");
  assert.equal(env.HEADLESS_SERVICE_HOST, undefined);
  assert.equal(env.ELSEWHERE_SERVICE_HOST, undefined);
});

test("serviceEnv keeps only kubernetes when enableServiceLinks is false", () => {
  const env = serviceEnv(pod({ enableServiceLinks: false }), services);
  assert.equal(env.REDIS_MAIN_SERVICE_HOST, undefined);
  assert.equal(env.KUBERNETES_SERVICE_HOST, "127.96.0.1");
});

const sources = (over: Partial<EnvSources> = {}): EnvSources => ({
  getConfigMap: async (_ns, name) =>
    name === "cm" ? { color: "blue", "bad-key!": "x" } : undefined,
  getSecret: async (_ns, name) => (name === "s" ? { password: "hunter2" } : undefined),
  services,
  allocatable: { cpu: 4, memory: 8 * 2 ** 30 },
  podIP: "127.244.0.9",
  hostIP: "127.0.0.1",
  ...over,
});

test("containerEnv resolves values, references, the downward API and sources in order", async () => {
  const c: Container = {
    name: "c",
    resources: { limits: { memory: "64Mi" }, requests: { cpu: "250m" } },
    envFrom: [{ configMapRef: { name: "cm" }, prefix: "CM_" }],
    env: [
      { name: "IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
      { name: "TIER", valueFrom: { fieldRef: { fieldPath: "metadata.labels['tier']" } } },
      { name: "URL", value: "http://$(IP):$(REDIS_MAIN_SERVICE_PORT)/$(NOPE)" },
      {
        name: "MEM_MI",
        valueFrom: { resourceFieldRef: { resource: "limits.memory", divisor: "1Mi" } },
      },
      { name: "CPU", valueFrom: { resourceFieldRef: { resource: "requests.cpu", divisor: "1m" } } },
      { name: "CPU_LIMIT", valueFrom: { resourceFieldRef: { resource: "limits.cpu" } } },
      { name: "PW", valueFrom: { secretKeyRef: { name: "s", key: "password" } } },
      { name: "OPT", valueFrom: { configMapKeyRef: { name: "gone", key: "k", optional: true } } },
    ],
  };
  const env = await containerEnv(pod(), c, sources());
  assert.equal(env.IP, "127.244.0.9");
  assert.equal(env.POD_IP, "127.244.0.9");
  assert.equal(env.HOSTNAME, "p");
  assert.equal(env.TIER, "db");
  assert.equal(env.URL, "http://127.244.0.9:6379/$(NOPE)");
  assert.equal(env.MEM_MI, "64");
  assert.equal(env.CPU, "250");
  assert.equal(env.CPU_LIMIT, "4");
  assert.equal(env.PW, "hunter2");
  assert.equal(env.CM_color, "blue");
  assert.equal("CM_bad-key!" in env, false);
  assert.equal("OPT" in env, false);
});

for (const [what, env, message] of [
  [
    "a missing ConfigMap",
    [{ name: "X", valueFrom: { configMapKeyRef: { name: "gone", key: "k" } } }],
    'configmap "gone" not found',
  ],
  [
    "a missing key",
    [{ name: "X", valueFrom: { secretKeyRef: { name: "s", key: "nope" } } }],
    "couldn't find key nope in Secret app/s",
  ],
] as const) {
  test(`containerEnv refuses ${what}`, async () => {
    const c = { name: "c", env: env as unknown as Container["env"] } as Container;
    await assert.rejects(containerEnv(pod(), c, sources()), (e: unknown) => {
      assert.ok(e instanceof EnvError);
      assert.equal(e.message, message);
      return true;
    });
  });
}
