/**
 * Helpers for the node agent's end-to-end tests: pod manifests for the fixture programs, plain
 * HTTP GETs to pod IPs, and address ranges leased as a cluster's are. Waits go through
 * `waitFor` from `src/_testing`.
 *
 * @module
 */
import { request } from "node:http";
import { fileURLToPath } from "node:url";
import type { Pod } from "kubernetes-types/core/v1.js";
import { type AddressPlan, addressPlan } from "../src/api/addressplan.ts";
import type { KubeObject } from "../src/api/types.ts";
import { leaseRanges } from "../src/cluster/index.ts";

export const HTTP_SERVER = fileURLToPath(new URL("./fixtures/http-server.js", import.meta.url));
export const NODE = process.execPath;

export function kubeletHttpGet(
  host: string,
  port: number,
  path = "/",
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, agent: false, timeout: 2000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        body += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

/** A pod of the HTTP fixture bound to `node`, with probes on /ready and /healthz every second. */
export function kubeletWebPod(
  name: string,
  node: string,
  extra: { labels?: Record<string, string>; env?: { name: string; value: string }[] } = {},
): KubeObject & Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", labels: extra.labels ?? { app: "web" } },
    spec: {
      nodeName: node,
      terminationGracePeriodSeconds: 5,
      containers: [
        {
          name: "web",
          image: "fixture/http-server",
          command: [NODE, HTTP_SERVER],
          env: [
            { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
            { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
            ...(extra.env ?? []),
          ],
          ports: [{ name: "http", containerPort: 8080 }],
          readinessProbe: {
            httpGet: { path: "/ready", port: 8080 },
            periodSeconds: 1,
            failureThreshold: 1,
          },
          // Two failures and a 2 s timeout: a loaded test machine must not restart a healthy pod.
          livenessProbe: {
            httpGet: { path: "/healthz", port: "http" },
            periodSeconds: 1,
            timeoutSeconds: 2,
            failureThreshold: 2,
          },
        },
      ],
    },
  } as KubeObject & Pod;
}

/**
 * An address plan of a test's own, leased from the machine's registry as `startCluster` leases
 * one, for tests that run a node agent without a cluster: their pods never share an IP with
 * another cluster's. `release()` gives it back (a killed process's lease is taken over).
 */
export async function leaseTestPlan(name: string): Promise<{ plan: AddressPlan; release(): void }> {
  const lease = await leaseRanges({ name, dataDir: "" });
  return { plan: addressPlan(lease.ranges), release: () => lease.release() };
}
