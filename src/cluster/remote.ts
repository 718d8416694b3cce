/**
 * Looking at a cluster from outside its process, as `loopkube status`, `down --detach`'s wait and
 * `delete` do: `/readyz` over HTTPS with the cluster's own kubeconfig, object counts through the
 * HTTP client, and removing its context from the user's kubeconfig.
 *
 * @module
 */
import { request } from "node:https";
import { REFS } from "../api/refs.ts";
import { parseKubeconfig, removeKubeconfigContext } from "../apiserver/kubeconfig.ts";
import { createHttpClient, loadKubeconfigFile } from "../client/index.ts";
import { contextName, defaultUserKubeconfig } from "./options.ts";

/** GET /readyz (`?verbose`: every check listed) with the kubeconfig's CA and client certificate. */
export function probeReadyz(
  kubeconfig: string,
  options: { timeoutMs?: number; verbose?: boolean } = {},
): Promise<{ status: number; body: string }> {
  const conn = parseKubeconfig(kubeconfig);
  const timeoutMs = options.timeoutMs ?? 2000;
  return new Promise((resolve, reject) => {
    const req = request(
      `${conn.server}/readyz${options.verbose ? "?verbose" : ""}`,
      {
        ...(conn.caCert ? { ca: conn.caCert } : {}),
        ...(conn.clientCert ? { cert: conn.clientCert } : {}),
        ...(conn.clientKey ? { key: conn.clientKey } : {}),
        timeout: timeoutMs,
      },
      (res) => {
        let body = "";
        res.on("data", (d) => {
          body += String(d);
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end();
  });
}

const COUNTED = [
  ["nodes", REFS.nodes],
  ["namespaces", REFS.namespaces],
  ["pods", REFS.pods],
  ["services", REFS.services],
  ["deployments", REFS.deployments],
  ["statefulsets", REFS.statefulsets],
] as const;

/** `[["pods", "3"], …]`, `"?"` where a list failed. */
export async function countObjects(kubeconfigPath: string): Promise<Array<[string, string]>> {
  const client = createHttpClient(loadKubeconfigFile(kubeconfigPath));
  const out: Array<[string, string]> = [];
  for (const [label, ref] of COUNTED) {
    const n = await client
      .list(ref, "")
      .then((l) => String(l.items.length))
      .catch(() => "?");
    out.push([label, n]);
  }
  return out;
}

/** Removes `loopkube-<name>` from the user's kubeconfig, as `kind delete cluster` does. */
export async function forgetUserContext(clusterName: string, path = defaultUserKubeconfig()) {
  await removeKubeconfigContext(path, contextName(clusterName));
}
