/**
 * The DaemonSet controller: one pod of each DaemonSet on every node that should run it, rolled
 * node by node when the template changes. Events enqueue the DaemonSet as kube's controller does:
 * its own changes; the pods and ControllerRevisions it controls (an orphan wakes the DaemonSets
 * whose selector matches it), pod creations and deletions feeding the expectations; a node added,
 * or changed so that a DaemonSet should or should not run on it any more; and, for
 * minReadySeconds, a pod turning ready wakes its DaemonSet again once it may be available. The
 * sync itself is level-based (`reconcile.ts`).
 *
 * @module
 */
import type { ControllerRevision, DaemonSet } from "kubernetes-types/apps/v1.js";
import type { Node, Pod } from "kubernetes-types/core/v1.js";
import { isStatusError } from "../../api/errors.ts";
import { matches, selectorFromLabelSelector } from "../../api/labels.ts";
import { REFS, sub } from "../../api/refs.ts";
import { asKube, type KubeObject, objectKey, splitKey, typed } from "../../api/types.ts";
import { CONTROLLER_UID_INDEX, controllerUidIndex } from "../../client/index.ts";
import { defineController } from "../_define.ts";
import { Expectations } from "../_expectations.ts";
import { controllerOf, patchOwners } from "../_owners.ts";
import { isReady } from "../_podutil.ts";
import { FailedPodBackoff } from "./_backoff.ts";
import { shouldRunOnNode } from "./_nodes.ts";
import { DAEMONSET } from "./_revision.ts";
import { reconcileDaemonSet } from "./reconcile.ts";

export { type DaemonSetDeps, reconcileDaemonSet } from "./reconcile.ts";

export const NAME = "daemonset-controller";

const ORPHAN_INDEX = "daemonset-orphans";
const BACKOFF_GC_MS = 60_000;

/** Objects without a controller, by namespace: the ones a DaemonSet may adopt. */
function orphanIndex(obj: KubeObject): string[] {
  return controllerOf(obj) ? [] : [obj.metadata.namespace ?? ""];
}

const nsOf = (o: { metadata?: { namespace?: string } }) => o.metadata?.namespace ?? "";

export const startDaemonSetController = defineController({
  name: NAME,
  workers: 2,
  setup({ ctx, queue, watch, eventsFor, onStop }) {
    const sets = ctx.informers.get<DaemonSet & KubeObject>(REFS.daemonsets);
    const pods = ctx.informers.get<Pod & KubeObject>(REFS.pods);
    const nodes = ctx.informers.get<Node & KubeObject>(REFS.nodes);
    const revisions = ctx.informers.get<ControllerRevision & KubeObject>(REFS.controllerrevisions);
    pods.index(CONTROLLER_UID_INDEX, controllerUidIndex);
    pods.index(ORPHAN_INDEX, orphanIndex);
    revisions.index(CONTROLLER_UID_INDEX, controllerUidIndex);
    revisions.index(ORPHAN_INDEX, orphanIndex);
    const now = () => ctx.now().getTime();
    const expectations = new Expectations(now);
    const backoff = new FailedPodBackoff();
    const gc = setInterval(() => backoff.gc(now()), BACKOFF_GC_MS);
    gc.unref();
    onStop(() => clearInterval(gc));

    /** The DaemonSet an object's controller reference names, if cached with that uid. */
    const ownerOf = (obj: Pod | ControllerRevision): DaemonSet | undefined => {
      const ref = controllerOf(obj);
      if (ref?.kind !== DAEMONSET.kind) return undefined;
      const ds = sets.get(nsOf(obj), ref.name);
      return ds?.metadata?.uid === ref.uid ? ds : undefined;
    };
    const matching = (obj: Pod | ControllerRevision) =>
      sets
        .list(nsOf(obj))
        .filter((ds) =>
          matches(selectorFromLabelSelector(ds.spec?.selector), obj.metadata?.labels ?? {}),
        );
    const enqueueFor = (obj: Pod | ControllerRevision) => {
      if (controllerOf(obj)) {
        const ds = ownerOf(obj);
        if (ds) queue.add(objectKey(ds));
        return;
      }
      for (const ds of matching(obj)) queue.add(objectKey(ds));
    };
    const deleted = (pod: Pod) => {
      const ds = ownerOf(pod);
      if (!ds) return;
      expectations.deletionObserved(objectKey(ds), objectKey(pod));
      queue.add(objectKey(ds));
    };

    watch(sets, {
      onAdd: (ds) => queue.add(objectKey(ds)),
      onUpdate: (_o, ds) => queue.add(objectKey(ds)),
      onDelete: (ds) => {
        expectations.forget(objectKey(ds));
        queue.add(objectKey(ds));
      },
    });
    watch(pods, {
      onAdd: (p) => {
        if (p.metadata?.deletionTimestamp) return deleted(p);
        const ds = ownerOf(p);
        if (ds) expectations.creationObserved(objectKey(ds));
        enqueueFor(p);
      },
      onUpdate: (o, p) => {
        if (p.metadata?.deletionTimestamp) return deleted(p);
        const oldRef = controllerOf(o);
        if (oldRef && oldRef.uid !== controllerOf(p)?.uid) enqueueFor(o);
        enqueueFor(p);
        const ds = ownerOf(p);
        const minReady = ds?.spec?.minReadySeconds ?? 0;
        if (ds && minReady > 0 && !isReady(o) && isReady(p))
          queue.addAfter(objectKey(ds), minReady * 1000 + 1000);
      },
      onDelete: deleted,
    });
    watch(revisions, {
      onAdd: enqueueFor,
      onUpdate: (o, r) => {
        if (controllerOf(o)?.uid !== controllerOf(r)?.uid) enqueueFor(o);
        enqueueFor(r);
      },
      onDelete: (r) => {
        const ds = ownerOf(r);
        if (ds) queue.add(objectKey(ds));
      },
    });
    const verdicts = (node: Node) =>
      sets.list("").map((ds) => ({ ds, verdict: shouldRunOnNode(ds, node) }));
    watch(nodes, {
      onAdd: (node) => {
        for (const { ds, verdict } of verdicts(node))
          if (verdict.shouldRun) queue.add(objectKey(ds));
      },
      onUpdate: (o, node) => {
        const before = new Map(verdicts(o).map(({ ds, verdict }) => [objectKey(ds), verdict]));
        for (const { ds, verdict } of verdicts(node)) {
          const was = before.get(objectKey(ds));
          if (
            was?.shouldRun !== verdict.shouldRun ||
            was.shouldContinueRunning !== verdict.shouldContinueRunning
          )
            queue.add(objectKey(ds));
        }
      },
      // Not kube's (its pod garbage collector deletes pods of a deleted node): the counts change.
      onDelete: () => {
        for (const ds of sets.list("")) queue.add(objectKey(ds));
      },
    });

    const ignoreNotFound = (e: unknown) => {
      if (!isStatusError(e, "NotFound")) throw e;
    };
    const candidates = <T extends KubeObject>(
      informer: { byIndex(name: string, value: string): T[] },
      ds: DaemonSet,
    ) => [
      ...informer.byIndex(CONTROLLER_UID_INDEX, ds.metadata?.uid ?? ""),
      ...informer.byIndex(ORPHAN_INDEX, nsOf(ds)),
    ];
    const event = eventsFor(DAEMONSET);

    return (key) =>
      reconcileDaemonSet(key, {
        getDaemonSet: (ns, name) => sets.get(ns, name),
        listNodes: () => nodes.list(""),
        candidatePods: (ds) => candidates(pods, ds),
        candidateRevisions: (ds) => candidates(revisions, ds),
        setPodOwners: async (pod, owners) =>
          typed<Pod>(await patchOwners(ctx.client, REFS.pods, pod, owners, { guard: "uid" })),
        setRevisionOwners: async (revision, owners) =>
          typed<ControllerRevision>(
            await patchOwners(ctx.client, REFS.controllerrevisions, revision, owners, {
              guard: "uid",
            }),
          ),
        createPod: async (pod) =>
          typed<Pod>(await ctx.client.create(REFS.pods, nsOf(pod), asKube(pod))),
        deletePod: async (pod) => {
          const uid = pod.metadata?.uid;
          await ctx.client
            .delete(REFS.pods, nsOf(pod), pod.metadata?.name ?? "", {
              ...(uid ? { preconditions: { uid } } : {}),
            })
            .catch(ignoreNotFound);
        },
        createRevision: async (revision) => {
          try {
            const made = await ctx.client.create(
              REFS.controllerrevisions,
              nsOf(revision),
              asKube(revision),
            );
            return typed<ControllerRevision>(made);
          } catch (e) {
            if (isStatusError(e, "AlreadyExists")) return undefined;
            throw e;
          }
        },
        getRevision: async (name) => {
          try {
            const got = await ctx.client.get(
              REFS.controllerrevisions,
              splitKey(key).namespace,
              name,
            );
            return typed<ControllerRevision>(got);
          } catch (e) {
            if (isStatusError(e, "NotFound")) return undefined;
            throw e;
          }
        },
        renumberRevision: async (revision, to) =>
          typed<ControllerRevision>(
            await ctx.client.patch(
              REFS.controllerrevisions,
              nsOf(revision),
              revision.metadata?.name ?? "",
              "merge",
              { revision: to },
            ),
          ),
        deleteRevision: async (revision) => {
          await ctx.client
            .delete(REFS.controllerrevisions, nsOf(revision), revision.metadata?.name ?? "")
            .catch(ignoreNotFound);
        },
        writeStatus: async (ds, status) => {
          // Go omits these when zero (omitempty); the first four it always writes.
          const body: Record<string, unknown> = { ...status };
          for (const f of [
            "observedGeneration",
            "updatedNumberScheduled",
            "numberAvailable",
            "numberUnavailable",
          ])
            if (body[f] === 0 || body[f] === undefined) body[f] = null;
          await ctx.client
            .patch(sub(REFS.daemonsets, "status"), nsOf(ds), ds.metadata?.name ?? "", "merge", {
              status: body,
            })
            .catch(ignoreNotFound);
        },
        event,
        expectations,
        backoff,
        now,
      });
  },
});
