/**
 * Builders for the scheduler's tests: nodes, pods and a {@link PodsView} over a plain list.
 *
 * @module
 */
import type { Node, Pod, Taint } from "kubernetes-types/core/v1.js";
import { controllerUid, hasPodAffinity, type PodsView, type ScheduledPod } from "./_pods.ts";

export function testNode(
  name: string,
  o: { labels?: Record<string, string>; taints?: Taint[]; maxPods?: number } = {},
): Node {
  return {
    metadata: { name, labels: { "kubernetes.io/hostname": name, ...o.labels } },
    spec: o.taints ? { taints: o.taints } : {},
    status: {
      conditions: [{ type: "Ready", status: "True" }],
      ...(o.maxPods === undefined ? {} : { allocatable: { pods: String(o.maxPods) } }),
    },
  };
}

export function testPod(
  name: string,
  o: {
    labels?: Record<string, string>;
    namespace?: string;
    owner?: string;
    spec?: Partial<NonNullable<Pod["spec"]>>;
  } = {},
): Pod {
  return {
    metadata: {
      name,
      namespace: o.namespace ?? "default",
      labels: o.labels ?? {},
      ...(o.owner
        ? {
            ownerReferences: [
              {
                apiVersion: "apps/v1",
                kind: "ReplicaSet",
                name: o.owner,
                uid: o.owner,
                controller: true,
              },
            ],
          }
        : {}),
    },
    spec: { containers: [], ...o.spec },
  };
}

/** A view over `placed` (pod, node name) pairs. */
export function podsOn(
  placed: ReadonlyArray<[Pod, string]>,
  namespaceLabels: Record<string, Record<string, string>> = {},
): PodsView {
  const all: ScheduledPod[] = placed.map(([pod, node]) => ({ pod, node }));
  return {
    all: () => all,
    withAffinity: () => all.filter((p) => hasPodAffinity(p.pod)),
    ownedBy: (uid) => all.filter((p) => controllerUid(p.pod) === uid),
    namespaceLabels: (ns) => namespaceLabels[ns],
  };
}
