/**
 * What a new cluster has before anyone writes: the namespaces `default`, `kube-system`,
 * `kube-public` and `kube-node-lease`. Created through the registry (defaulting and validation
 * apply) and only when missing, so a restart keeps what is there.
 *
 * @module
 */
import { isStatusError } from "../api/errors.ts";
import type { Registry } from "./registry/index.ts";

export const SYSTEM_NAMESPACES = [
  "default",
  "kube-system",
  "kube-public",
  "kube-node-lease",
] as const;

export function ensureSystemNamespaces(registry: Registry): void {
  for (const name of SYSTEM_NAMESPACES) {
    try {
      registry.createSync({ group: "", version: "v1", resource: "namespaces" }, "", {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name, labels: { "kubernetes.io/metadata.name": name } },
      });
    } catch (e) {
      if (!isStatusError(e, "AlreadyExists")) throw e;
    }
  }
}
