/**
 * The local APIServices kube-apiserver registers for what it serves itself: one per served
 * group-version at start (label `kube-aggregator.kubernetes.io/automanaged: onstart`, with the
 * group and version priorities of kube-apiserver's table), and one per served version of a
 * CustomResourceDefinition (`automanaged: "true"`, priorities 1000 and 100, as kube's CRD
 * registration controller gives them). loopkube's own `metrics.k8s.io` gets metrics-server's
 * priorities (100, 100).
 *
 * Pure: from the group-versions served to the objects wanted, and from a stored object to
 * whether it is one of these (local and labelled) and what to do about it.
 *
 * @module
 */
import type { KubeObject } from "../../api/types.ts";

export const AUTOMANAGED_LABEL = "kube-aggregator.kubernetes.io/automanaged";

/** kube-apiserver 1.32's group and version priorities, keyed `<group>/<version>`. */
const PRIORITIES: Record<string, [group: number, version: number]> = {
  "/v1": [18000, 1],
  "apiregistration.k8s.io/v1": [18000, 15],
  "apps/v1": [17800, 15],
  "events.k8s.io/v1": [17750, 15],
  "authentication.k8s.io/v1": [17700, 15],
  "authorization.k8s.io/v1": [17600, 15],
  "autoscaling/v2": [17500, 30],
  "autoscaling/v1": [17500, 15],
  "batch/v1": [17400, 15],
  "certificates.k8s.io/v1": [17300, 15],
  "networking.k8s.io/v1": [17200, 15],
  "policy/v1": [17100, 15],
  "rbac.authorization.k8s.io/v1": [17000, 15],
  "storage.k8s.io/v1": [16800, 15],
  "apiextensions.k8s.io/v1": [16700, 15],
  "admissionregistration.k8s.io/v1": [16700, 15],
  "scheduling.k8s.io/v1": [16600, 15],
  "coordination.k8s.io/v1": [16500, 15],
  "node.k8s.io/v1": [16300, 15],
  "discovery.k8s.io/v1": [16200, 15],
  "flowcontrol.apiserver.k8s.io/v1": [16100, 21],
  // metrics-server's own APIService says 100 and 100.
  "metrics.k8s.io/v1beta1": [100, 100],
};

/** What kind of local group-version: built in (`onstart`) or from a CRD (`true`). */
export type LocalKind = "onstart" | "true";

export interface GroupVersion {
  group: string;
  version: string;
}

/** The APIService kube-apiserver keeps for a group-version it serves itself. */
export function localApiService(gv: GroupVersion, kind: LocalKind): KubeObject {
  const [groupPriorityMinimum, versionPriority] =
    kind === "true" ? [1000, 100] : (PRIORITIES[`${gv.group}/${gv.version}`] ?? [1000, 100]);
  return {
    apiVersion: "apiregistration.k8s.io/v1",
    kind: "APIService",
    metadata: { name: `${gv.version}.${gv.group}`, labels: { [AUTOMANAGED_LABEL]: kind } },
    spec: {
      ...(gv.group ? { group: gv.group } : {}),
      version: gv.version,
      groupPriorityMinimum,
      versionPriority,
    },
  };
}

/** Whether a stored APIService is one loopkube keeps (local and labelled automanaged). */
export function isAutomanagedLocal(obj: KubeObject): boolean {
  const label = obj.metadata.labels?.[AUTOMANAGED_LABEL];
  const service = (obj.spec as { service?: unknown } | undefined)?.service;
  return (label === "onstart" || label === "true") && !service;
}

export type LocalAction =
  | { op: "create"; obj: KubeObject }
  | { op: "update"; obj: KubeObject }
  | { op: "delete"; name: string };

/**
 * What brings the stored APIServices in line with the wanted local ones. A stored APIService of
 * a wanted name that has a service (a user's, such as the real metrics-server's) is left alone:
 * it replaces the local one, as it does on kube-apiserver. Automanaged local ones no longer
 * wanted (a CRD gone) are deleted; those whose spec or label drifted are put back.
 */
export function planLocal(wanted: KubeObject[], stored: KubeObject[]): LocalAction[] {
  const byName = new Map(stored.map((o) => [o.metadata.name ?? "", o]));
  const wantedNames = new Set<string>();
  const actions: LocalAction[] = [];
  for (const want of wanted) {
    const name = want.metadata.name ?? "";
    wantedNames.add(name);
    const have = byName.get(name);
    if (!have) {
      actions.push({ op: "create", obj: want });
      continue;
    }
    if ((have.spec as { service?: unknown } | undefined)?.service) continue;
    const label = want.metadata.labels?.[AUTOMANAGED_LABEL];
    if (
      JSON.stringify(have.spec) !== JSON.stringify(want.spec) ||
      have.metadata.labels?.[AUTOMANAGED_LABEL] !== label
    ) {
      actions.push({
        op: "update",
        obj: {
          ...have,
          metadata: {
            ...have.metadata,
            labels: { ...have.metadata.labels, [AUTOMANAGED_LABEL]: label ?? "onstart" },
          },
          spec: want.spec,
        },
      });
    }
  }
  for (const have of stored) {
    const name = have.metadata.name ?? "";
    if (!wantedNames.has(name) && isAutomanagedLocal(have)) actions.push({ op: "delete", name });
  }
  return actions;
}
