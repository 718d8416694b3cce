/**
 * One garbage-collector step for one object (key from `itemKey`): read it from the cache, plan
 * (`_plan.ts`) and act. Owners missing from the caches are verified with a live GET by the
 * wiring before a dependent is deleted, as kube's GC does for "virtual" owners.
 *
 * @module
 */
import type { KubeObject, OwnerReference } from "../../api/types.ts";
import type { ReconcileResult } from "../../client/runner.ts";
import { FOREGROUND, ORPHAN, type OwnerState, planDependent, planOwner } from "./_plan.ts";
import { type GcResource, parseItemKey } from "./_resources.ts";

export interface Dependent {
  res: GcResource;
  obj: KubeObject;
}

export interface GcDeps {
  /** The resources watched now (custom resources come and go with their CRDs). */
  resources(): readonly GcResource[];
  /** All caches have listed once (before that, "no dependents" means nothing). */
  synced(): boolean;
  get(res: GcResource, namespace: string, name: string): KubeObject | undefined;
  /** Cached objects with an ownerReference to `uid`. */
  dependents(uid: string): Dependent[];
  ownerState(ref: OwnerReference, dependent: Dependent): Promise<OwnerState>;
  delete(d: Dependent, policy: "Background" | "Foreground"): Promise<void>;
  setOwnerReferences(d: Dependent, refs: OwnerReference[]): Promise<void>;
  removeFinalizer(d: Dependent, finalizer: string): Promise<void>;
  enqueue(d: Dependent): void;
}

export async function reconcileItem(key: string, deps: GcDeps): Promise<ReconcileResult> {
  const id = parseItemKey(key, deps.resources());
  if (!id) return;
  const obj = deps.get(id.res, id.namespace, id.name);
  if (!obj) return;
  if (!deps.synced()) return { requeueAfter: 100 };
  const self: Dependent = { res: id.res, obj };
  const uid = obj.metadata.uid ?? "";
  const dependents = deps.dependents(uid);

  const ownerStep = planOwner(
    obj,
    dependents.map((d) => d.obj),
  );
  if (ownerStep) {
    switch (ownerStep.type) {
      case "orphanDependents":
        for (const d of dependents) {
          const refs = d.obj.metadata.ownerReferences ?? [];
          await deps.setOwnerReferences(
            d,
            refs.filter((r) => r.uid !== uid),
          );
        }
        await deps.removeFinalizer(self, ORPHAN);
        return;
      case "removeFinalizer":
        await deps.removeFinalizer(self, ownerStep.finalizer);
        return;
      default:
        // Foreground deletion still blocked: make sure each dependent gets its turn.
        for (const d of dependents) if (!d.obj.metadata.deletionTimestamp) deps.enqueue(d);
        return;
    }
  }
  if (obj.metadata.deletionTimestamp) return;
  const refs = obj.metadata.ownerReferences ?? [];
  if (refs.length === 0) return;
  const states: OwnerState[] = [];
  for (const r of refs) states.push(await deps.ownerState(r, self));
  const step = planDependent(obj, states, dependents.length > 0);
  if (step.type === "delete") await deps.delete(self, step.policy);
  else if (step.type === "setOwnerReferences")
    await deps.setOwnerReferences(self, step.ownerReferences);
  return;
}

export { FOREGROUND, ORPHAN };
