/**
 * The ReplicaSet controller: keeps each set's pod count at `spec.replicas`. Pod events are
 * mapped to the owning set (and, for orphans, to every set whose selector matches) and feed the
 * expectations; the sync itself is level-based (`reconcile.ts`).
 *
 * The ReplicationController controller is the same controller over ReplicationControllers, each
 * converted into a ReplicaSet for the sync (`_replication.ts`), as kube's replication manager is.
 *
 * @module
 */
import type { ReplicaSet } from "kubernetes-types/apps/v1.js";
import type { Pod, ReplicationController } from "kubernetes-types/core/v1.js";
import { matches, selectorFromLabelSelector } from "../../api/labels.ts";
import { REFS, sub } from "../../api/refs.ts";
import { asKube, type KubeObject, objectKey, typed } from "../../api/types.ts";
import type { ResourceRef } from "../../api/verbs.ts";
import {
  CONTROLLER_UID_INDEX,
  controllerUidIndex,
  type ReconcileResult,
} from "../../client/index.ts";
import { type ControllerKit, defineController } from "../_define.ts";
import { Expectations } from "../_expectations.ts";
import { controllerOf, type ObjectType, patchOwners } from "../_owners.ts";
import { REPLICATIONCONTROLLER, replicaSetOf } from "./_replication.ts";
import { REPLICASET, type ReplicaSetDeps, reconcileReplicaSet } from "./reconcile.ts";

export { Expectations } from "../_expectations.ts";
export { compareForDeletion, podsToDelete } from "./_rank.ts";
export { podFromTemplate, type ReplicaSetDeps, reconcileReplicaSet } from "./reconcile.ts";

export const NAME = "replicaset-controller";
export const REPLICATION_NAME = "replicationcontroller-controller";

const ORPHAN_INDEX = "replicaset-orphan-pods";

/** Pods without a controller, by namespace: the ones a set may adopt. */
function orphanIndex(p: Pod & KubeObject): string[] {
  return controllerOf(p) ? [] : [p.metadata.namespace ?? ""];
}

/** What the controller runs over: ReplicaSets, or ReplicationControllers seen as ReplicaSets. */
interface SetKind<S extends KubeObject> {
  type: ObjectType;
  ref: ResourceRef;
  toReplicaSet(set: S): ReplicaSet;
}

const REPLICASETS: SetKind<ReplicaSet & KubeObject> = {
  type: REPLICASET,
  ref: REFS.replicasets,
  toReplicaSet: (rs) => rs,
};

const REPLICATIONCONTROLLERS: SetKind<ReplicationController & KubeObject> = {
  type: REPLICATIONCONTROLLER,
  ref: REFS.replicationcontrollers,
  toReplicaSet: replicaSetOf,
};

function setupSets<S extends KubeObject>(
  { ctx, queue, watch, eventsFor }: ControllerKit,
  kind: SetKind<S>,
): (key: string) => Promise<ReconcileResult> {
  const informer = ctx.informers.get<S>(kind.ref);
  const asSet = (s: S) => kind.toReplicaSet(s);
  const sets = {
    get: (ns: string, name: string) => {
      const s = informer.get(ns, name);
      return s && asSet(s);
    },
    list: (ns: string) => informer.list(ns).map(asSet),
    byIndex: (index: string, value: string) => informer.byIndex(index, value).map(asSet),
  };
  const pods = ctx.informers.get<Pod & KubeObject>(REFS.pods);
  pods.index(CONTROLLER_UID_INDEX, controllerUidIndex);
  pods.index(ORPHAN_INDEX, orphanIndex);
  informer.index(CONTROLLER_UID_INDEX, controllerUidIndex);
  const now = () => ctx.now().getTime();
  const expectations = new Expectations(now);

  /** The set a pod's controller reference names, if it is in the cache with that UID. */
  const ownerOf = (pod: Pod): ReplicaSet | undefined => {
    const ref = controllerOf(pod);
    if (ref?.kind !== kind.type.kind) return undefined;
    const rs = sets.get(pod.metadata?.namespace ?? "", ref.name);
    return rs?.metadata?.uid === ref.uid ? rs : undefined;
  };
  const matchingSets = (pod: Pod) =>
    sets
      .list(pod.metadata?.namespace ?? "")
      .filter((rs) =>
        matches(selectorFromLabelSelector(rs.spec?.selector), pod.metadata?.labels ?? {}),
      );
  const enqueueFor = (pod: Pod) => {
    if (controllerOf(pod)) {
      const rs = ownerOf(pod);
      if (rs) queue.add(objectKey(rs));
      return;
    }
    for (const rs of matchingSets(pod)) queue.add(objectKey(rs));
  };
  const observeDeletion = (pod: Pod) => {
    const rs = ownerOf(pod);
    if (rs) expectations.deletionObserved(objectKey(rs), objectKey(pod));
  };

  watch(informer, {
    onAdd: (rs) => queue.add(objectKey(rs)),
    onUpdate: (_o, rs) => queue.add(objectKey(rs)),
    onDelete: (rs) => {
      expectations.forget(objectKey(rs));
      queue.add(objectKey(rs));
    },
  });
  watch(pods, {
    onAdd: (p) => {
      const rs = ownerOf(p);
      if (p.metadata?.deletionTimestamp) observeDeletion(p);
      else if (rs) expectations.creationObserved(objectKey(rs));
      enqueueFor(p);
    },
    onUpdate: (o, p) => {
      if (p.metadata?.deletionTimestamp && !o.metadata?.deletionTimestamp) observeDeletion(p);
      const oldRef = controllerOf(o);
      if (oldRef && oldRef.uid !== controllerOf(p)?.uid) enqueueFor(o);
      else if (!oldRef) for (const rs of matchingSets(o)) queue.add(objectKey(rs));
      enqueueFor(p);
    },
    onDelete: (p) => {
      observeDeletion(p);
      enqueueFor(p);
    },
  });

  const write = eventsFor(kind.type);
  // The involved object is the set's own kind (a ReplicationController seen as a ReplicaSet is
  // still a ReplicationController to `kubectl describe`): only its metadata is passed on.
  const event: ReplicaSetDeps["event"] = (rs, type, reason, message) =>
    write({ metadata: rs.metadata }, type, reason, message);
  return (key) =>
    reconcileReplicaSet(key, {
      getReplicaSet: (ns, name) => sets.get(ns, name),
      // A set's own pods and the namespace's orphans, not the whole namespace: with 1,500
      // pods in a namespace every pod status change otherwise scanned all of them.
      listPods: (ns, rs) => [
        ...pods.byIndex(CONTROLLER_UID_INDEX, rs.metadata?.uid ?? ""),
        ...pods.byIndex(ORPHAN_INDEX, ns),
      ],
      relatedPods: (rs) => {
        const owner = controllerOf(rs)?.uid;
        if (!owner) return undefined;
        return sets
          .byIndex(CONTROLLER_UID_INDEX, owner)
          .flatMap((s) => pods.byIndex(CONTROLLER_UID_INDEX, s.metadata?.uid ?? ""))
          .filter((p) => !p.metadata?.deletionTimestamp);
      },
      createPod: async (ns, pod) => typed<Pod>(await ctx.client.create(REFS.pods, ns, asKube(pod))),
      deletePod: async (ns, name) => {
        await ctx.client.delete(REFS.pods, ns, name);
      },
      setPodOwners: async (pod, owners) => {
        await patchOwners(ctx.client, REFS.pods, pod, owners);
      },
      writeStatus: async (rs, status) => {
        const ns = rs.metadata?.namespace ?? "";
        const live = informer.get(ns, rs.metadata?.name ?? "");
        if (live?.metadata.uid !== rs.metadata?.uid) return;
        // The cached object (its resourceVersion guards the write) with the new status.
        await ctx.client.update(sub(kind.ref, "status"), ns, asKube({ ...live, status }));
      },
      event,
      expectations,
      now,
      owner: kind.type,
    });
}

export const startReplicaSetController = defineController({
  name: NAME,
  workers: 2,
  setup: (kit) => setupSets(kit, REPLICASETS),
});

/** kube's replication manager: the ReplicaSet controller over ReplicationControllers. */
export const startReplicationController = defineController({
  name: REPLICATION_NAME,
  component: "replication-controller",
  workers: 2,
  setup: (kit) => setupSets(kit, REPLICATIONCONTROLLERS),
});
