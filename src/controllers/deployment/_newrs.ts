/**
 * Finding or creating the Deployment's new ReplicaSet (kube's getNewReplicaSet): the oldest set
 * whose template equals the Deployment's (ignoring the hash label) is the new one and gets the
 * next revision; otherwise `<deployment>-<hash>` is created, with the hash label added to its
 * selector, labels and template, and a controller reference to the Deployment.
 *
 * @module
 */
import type { Deployment, ReplicaSet } from "kubernetes-types/apps/v1.js";
import { computeHash } from "../_hash.ts";
import { ownerRef } from "../_owners.ts";
import { byCreation } from "./_arith.ts";
import { equalIgnoreHash, HASH_LABEL, setNewReplicaSetAnnotations } from "./_revision.ts";

export function findNewReplicaSet(
  d: Deployment,
  sets: readonly ReplicaSet[],
): ReplicaSet | undefined {
  return [...sets]
    .sort(byCreation)
    .find((rs) => equalIgnoreHash(rs.spec?.template, d.spec?.template));
}

export const DEPLOYMENT = { apiVersion: "apps/v1", kind: "Deployment" } as const;

/** The ReplicaSet to create for `d`'s current template, with `replicas` pods. */
export function newReplicaSetFor(
  d: Deployment,
  options: { revision: number; replicas: number },
): ReplicaSet {
  const template = structuredClone(d.spec?.template ?? {});
  const hash = computeHash(template, d.status?.collisionCount);
  template.metadata = {
    ...(template.metadata ?? {}),
    labels: { ...(template.metadata?.labels ?? {}), [HASH_LABEL]: hash },
  };
  const selector = structuredClone(d.spec?.selector ?? {});
  selector.matchLabels = { ...(selector.matchLabels ?? {}), [HASH_LABEL]: hash };
  const annotations: Record<string, string> = {};
  setNewReplicaSetAnnotations(d, annotations, options.revision, { exists: false });
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name: `${d.metadata?.name ?? ""}-${hash}`,
      namespace: d.metadata?.namespace ?? "",
      labels: { ...(template.metadata.labels ?? {}) },
      annotations,
      ownerReferences: [ownerRef(d, DEPLOYMENT)],
    },
    spec: {
      replicas: options.replicas,
      minReadySeconds: d.spec?.minReadySeconds ?? 0,
      selector,
      template,
    },
  };
}
