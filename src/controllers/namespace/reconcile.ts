/**
 * One pass of the namespace controller over a namespace (key: its name), as kube's
 * `NamespacedResourcesDeleter` does it: nothing until the namespace has a deletionTimestamp and
 * still carries the `kubernetes` finalizer in spec.finalizers; then delete every object of every
 * namespaced resource in it, count what remains (objects held by finalizers or grace periods),
 * record that in the deletion conditions, and come back later while anything remains. Once the
 * namespace is empty, drop the `kubernetes` finalizer through the finalize subresource; the API
 * server then removes the namespace.
 *
 * @module
 */
import type { Namespace, NamespaceCondition } from "kubernetes-types/core/v1.js";
import type { KubeObject } from "../../api/types.ts";
import type { ResourceRef } from "../../api/verbs.ts";
import type { ReconcileResult } from "../../client/runner.ts";
import { type DeletionReport, deletionConditions, mergeConditions } from "./_conditions.ts";

export const FINALIZER = "kubernetes";

export interface NamespaceDeps {
  getNamespace(name: string): Namespace | undefined;
  /** Every namespaced resource the API serves. */
  resources: readonly ResourceRef[];
  listObjects(ref: ResourceRef, namespace: string): Promise<KubeObject[]>;
  deleteObject(ref: ResourceRef, obj: KubeObject): Promise<void>;
  writeConditions(ns: Namespace, conditions: NamespaceCondition[]): Promise<void>;
  /** PUT namespaces/<name>/finalize with these spec.finalizers. */
  finalize(ns: Namespace, finalizers: string[]): Promise<void>;
  now(): Date;
  /** How long to wait before looking again while content remains. */
  recheckMs: number;
}

function groupResource(ref: ResourceRef): string {
  return ref.group ? `${ref.resource}.${ref.group}` : ref.resource;
}

function rfc3339(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export async function reconcileNamespace(
  key: string,
  deps: NamespaceDeps,
): Promise<ReconcileResult> {
  const ns = deps.getNamespace(key);
  if (!ns?.metadata?.deletionTimestamp) return;
  const finalizers = ns.spec?.finalizers ?? [];
  if (!finalizers.includes(FINALIZER)) return;

  const report: DeletionReport = { remaining: new Map(), finalizers: new Map(), failures: [] };
  for (const ref of deps.resources) {
    let items = await deps.listObjects(ref, key);
    if (items.length === 0) continue;
    let deleted = false;
    for (const obj of items) {
      if (obj.metadata.deletionTimestamp) continue;
      try {
        await deps.deleteObject(ref, obj);
        deleted = true;
      } catch (e) {
        report.failures.push(`${groupResource(ref)}: ${errorText(e)}`);
      }
    }
    if (deleted) items = await deps.listObjects(ref, key);
    if (items.length === 0) continue;
    report.remaining.set(groupResource(ref), items.length);
    for (const obj of items)
      for (const f of obj.metadata.finalizers ?? [])
        report.finalizers.set(f, (report.finalizers.get(f) ?? 0) + 1);
  }

  const { conditions, changed } = mergeConditions(
    ns.status?.conditions ?? [],
    deletionConditions(report, rfc3339(deps.now())),
  );
  if (changed) await deps.writeConditions(ns, conditions);
  if (report.remaining.size > 0 || report.failures.length > 0)
    return { requeueAfter: deps.recheckMs };
  await deps.finalize(
    ns,
    finalizers.filter((f) => f !== FINALIZER),
  );
  return;
}
