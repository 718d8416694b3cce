/**
 * What a new cluster has before anyone writes: the namespaces `default`, `kube-system`,
 * `kube-public` and `kube-node-lease`, and the system PriorityClasses. Created through the registry (defaulting and validation
 * apply) and only when missing, so a restart keeps what is there.
 *
 * @module
 */
import { isStatusError } from "../api/errors.ts";
import { SYSTEM_PRIORITY_CLASSES } from "../api/kinds/index.ts";
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

/**
 * The system PriorityClasses (`system-node-critical`, `system-cluster-critical`), created when
 * missing, as kube-apiserver's `scheduling/bootstrap-system-priority-classes` hook does.
 */
export function ensureSystemPriorityClasses(registry: Registry): void {
  for (const pc of SYSTEM_PRIORITY_CLASSES) {
    try {
      registry.createSync(
        { group: "scheduling.k8s.io", version: "v1", resource: "priorityclasses" },
        "",
        {
          apiVersion: "scheduling.k8s.io/v1",
          kind: "PriorityClass",
          metadata: { name: pc.name },
          value: pc.value,
          description: pc.description,
        },
      );
    } catch (e) {
      if (!isStatusError(e, "AlreadyExists")) throw e;
    }
  }
}
