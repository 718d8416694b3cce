/**
 * What service-account tokens cost (issue 15): a TokenRequest (an ES256 signature) and the
 * authentication of a request by a service-account token (an ES256 verification plus the store
 * lookups of the account and the bound pod), per call, in process; and pod startup (create →
 * Ready) of a process pod with and without kube's token volume (`kube-api-access-…`: a token
 * request, the atomic writer, and as root the shadowed `/run` the sandbox mounts it through),
 * one pod at a time, sandboxed when root.
 *
 * Run: node --import tsx bench/serviceaccount/token.bench.ts [--quick]
 *
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Pod } from "kubernetes-types/core/v1.js";
import { REFS, sub } from "../../src/api/refs.ts";
import type { KubeObject } from "../../src/api/types.ts";
import { tokenVolume } from "../../src/apiserver/admission/serviceaccount.ts";
import { createRegistry } from "../../src/apiserver/index.ts";
import { serviceAccountTokens } from "../../src/apiserver/serviceaccount/index.ts";
import { startKubelet } from "../../src/kubelet/index.ts";
import { sandboxSupported } from "../../src/kubelet/sandbox/index.ts";
import { openStore } from "../../src/store/index.ts";
import { startTestControlPlane } from "../../test/_controlplane.ts";
import { leaseTestPlan } from "../../test/_kubelet.ts";
import { type Line, percentile, startResult } from "../_result.ts";

const quick = process.argv.includes("--quick");
const CALLS = quick ? 500 : 5000;
const PODS = quick ? 10 : 30;
const result = startResult("serviceaccount", { quick });
const lines: Line[] = [];

function tokensInProcess(): void {
  const store = openStore({ backend: "memory" });
  const { registry, issuer } = createRegistry(store);
  registry.createSync(REFS.serviceaccounts, "default", { metadata: { name: "sa" } } as KubeObject);
  const pod = registry.createSync(REFS.pods, "default", {
    metadata: { name: "p" },
    spec: { serviceAccountName: "sa", containers: [{ name: "c", image: "x" }] },
  } as KubeObject);
  const request = () =>
    (
      registry.createSync(sub(REFS.serviceaccounts, "token"), "default", {
        metadata: { name: "sa" },
        spec: {
          expirationSeconds: 3607,
          boundObjectRef: { apiVersion: "v1", kind: "Pod", name: "p", uid: pod.metadata.uid },
        },
      } as KubeObject) as KubeObject & { status: { token: string } }
    ).status.token;
  for (let i = 0; i < 50; i++) request(); // warm up
  let t = performance.now();
  const tokens: string[] = [];
  for (let i = 0; i < CALLS; i++) tokens.push(request());
  const issueUs = ((performance.now() - t) * 1000) / CALLS;
  const authenticate = serviceAccountTokens(issuer, store);
  for (let i = 0; i < 50; i++) authenticate(tokens[i] ?? "");
  t = performance.now();
  let ok = 0;
  for (const token of tokens) {
    const r = authenticate(token);
    if (r && "user" in r) ok++;
  }
  const verifyUs = ((performance.now() - t) * 1000) / CALLS;
  console.log(JSON.stringify({ issueUs, verifyUs, accepted: ok }));
  lines.push(
    {
      measure: "TokenRequest, pod-bound (ES256 signature), in process",
      value: Number(issueUs.toFixed(1)),
      unit: "µs",
      better: "lower",
      detail: `${CALLS} calls`,
    },
    {
      measure: "authentication by service-account token (verify + account and pod lookups)",
      value: Number(verifyUs.toFixed(1)),
      unit: "µs",
      better: "lower",
      detail: `${CALLS} tokens`,
    },
  );
}

async function startup(withToken: boolean): Promise<void> {
  const sandbox = sandboxSupported();
  const cp = await startTestControlPlane({ controllers: [] });
  const { plan, release } = await leaseTestPlan("bench-sa");
  const dataDir = mkdtempSync(join(tmpdir(), "loopkube-bench-sa-"));
  await cp.client.create(REFS.serviceaccounts, "default", {
    metadata: { name: "default" },
  } as KubeObject);
  await cp.client.create(REFS.configmaps, "default", {
    metadata: { name: "kube-root-ca.crt" },
    data: { "ca.crt": cp.api.pki.caCert },
  } as KubeObject);
  const kubelet = await startKubelet({
    client: cp.client,
    informers: cp.informers,
    nodeName: "bench",
    dataDir,
    sandbox,
    runtime: "process",
    podCidr: plan.podCidr,
    nodeIP: plan.nodeIP,
  });
  const pods = cp.informers.get<Pod & KubeObject>(REFS.pods);
  const latency: number[] = [];
  for (let i = 0; i < PODS; i++) {
    const name = `p-${i}`;
    const t0 = performance.now();
    const ready = new Promise<void>((resolve) => {
      const off = pods.addHandlers({
        onUpdate: (_o, p) => {
          if (p.metadata?.name !== name) return;
          if (p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")) {
            off();
            resolve();
          }
        },
      });
    });
    const volume = tokenVolume("kube-api-access-bench");
    await cp.client.create(REFS.pods, "default", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: "default" },
      spec: {
        nodeName: "bench",
        serviceAccountName: "default",
        containers: [
          {
            name: "c",
            image: "sleep",
            command: ["sleep", "3600"],
            ...(withToken
              ? {
                  volumeMounts: [
                    {
                      name: "kube-api-access-bench",
                      readOnly: true,
                      mountPath: "/var/run/secrets/kubernetes.io/serviceaccount",
                    },
                  ],
                }
              : {}),
          },
        ],
        ...(withToken ? { volumes: [volume] } : {}),
      },
    });
    await ready;
    latency.push(performance.now() - t0);
  }
  const label = `process${sandbox ? ", sandboxed" : ", no sandbox"}, one at a time, ${withToken ? "with" : "without"} the token volume`;
  console.log(
    JSON.stringify({
      label,
      p50: percentile(latency, 50),
      p99: percentile(latency, 99),
      max: Math.max(...latency),
    }),
  );
  lines.push({
    measure: `pod startup p50 (${label})`,
    value: Number(percentile(latency, 50).toFixed(1)),
    unit: "ms",
    better: "lower",
    detail: `p99 ${percentile(latency, 99).toFixed(1)} ms, max ${Math.max(...latency).toFixed(1)} ms, ${PODS} pods`,
  });
  await kubelet.stop();
  await cp.stop();
  release();
  rmSync(dataDir, { recursive: true, force: true });
}

tokensInProcess();
for (const withToken of [false, true]) await startup(withToken);
console.log(`wrote ${result.done(lines)}`);
