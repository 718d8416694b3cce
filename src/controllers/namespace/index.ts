/**
 * The namespace controller: empties a Terminating namespace of every namespaced object, then
 * finalizes it so the API server removes it. Keyed by namespace name; while content remains
 * the namespace is looked at again every `recheckMs` (kube estimates the wait from the pods'
 * grace periods; a short fixed period is enough here).
 *
 * @module
 */
import type { Namespace } from "kubernetes-types/core/v1.js";
import { isStatusError } from "../../api/errors.ts";
import { REFS, sub } from "../../api/refs.ts";
import { asKube, type KubeObject } from "../../api/types.ts";
import type { ResourceRef } from "../../api/verbs.ts";
import { defineController } from "../_define.ts";
import { reconcileNamespace } from "./reconcile.ts";

export { deletionConditions } from "./_conditions.ts";
export { FINALIZER, reconcileNamespace } from "./reconcile.ts";

export const NAME = "namespace-controller";

/** The namespaced resources of `REFS`, events last so that they record the deletion. */
export const NAMESPACED_RESOURCES: readonly ResourceRef[] = [
  REFS.pods,
  REFS.services,
  REFS.endpoints,
  REFS.configmaps,
  REFS.secrets,
  REFS.serviceaccounts,
  REFS.persistentvolumeclaims,
  REFS.deployments,
  REFS.replicasets,
  REFS.statefulsets,
  REFS.controllerrevisions,
  REFS.cronjobs,
  REFS.jobs,
  REFS.endpointslices,
  REFS.leases,
  REFS.ingresses,
  REFS.networkpolicies,
  REFS.daemonsets,
  REFS.replicationcontrollers,
  REFS.poddisruptionbudgets,
  REFS.resourcequotas,
  REFS.limitranges,
  REFS.events,
];

interface CrdShape {
  spec?: {
    group?: string;
    scope?: string;
    names?: { plural?: string };
    versions?: Array<{ name?: string; served?: boolean; storage?: boolean }>;
  };
  status?: { conditions?: Array<{ type?: string; status?: string }> };
}

/** The served, namespaced resources of the Established CRDs (at a served version). */
export function namespacedCustomResources(crds: readonly KubeObject[]): ResourceRef[] {
  const out: ResourceRef[] = [];
  for (const crd of crds as ReadonlyArray<KubeObject & CrdShape>) {
    const spec = crd.spec;
    const established = crd.status?.conditions?.some(
      (c) => c.type === "Established" && c.status === "True",
    );
    if (!spec?.group || !spec.names?.plural || spec.scope !== "Namespaced" || !established)
      continue;
    const served = (spec.versions ?? []).filter((v) => v.served && v.name);
    const version = served.find((v) => v.storage) ?? served[0];
    if (version?.name)
      out.push({ group: spec.group, version: version.name, resource: spec.names.plural });
  }
  return out;
}

export const startNamespaceController = defineController<{
  resources?: readonly ResourceRef[];
  recheckMs?: number;
}>({
  name: NAME,
  setup({ ctx, queue, watch }, options) {
    const namespaces = ctx.informers.get<Namespace & KubeObject>(REFS.namespaces);
    // Custom resources too, as kube's controller finds them through discovery (issue #16).
    const crds = options.resources ? undefined : ctx.informers.get(REFS.customresourcedefinitions);
    const enqueue = (n: Namespace) => {
      if (n.metadata?.deletionTimestamp) queue.add(n.metadata.name ?? "");
    };
    watch(namespaces, { onAdd: enqueue, onUpdate: (_o, n) => enqueue(n) });
    const ignoreNotFound = (e: unknown) => {
      if (!isStatusError(e, "NotFound")) throw e;
    };

    return (key) =>
      reconcileNamespace(key, {
        getNamespace: (name) => namespaces.get("", name),
        resources: options.resources ?? [
          ...namespacedCustomResources(crds?.list() ?? []),
          ...NAMESPACED_RESOURCES,
        ],
        listObjects: async (ref, ns) => {
          try {
            return (await ctx.client.list(ref, ns)).items;
          } catch (e) {
            // A custom resource whose CRD went meanwhile has nothing left to delete.
            if (
              isStatusError(e, "NotFound") &&
              ref.group !== "" &&
              !NAMESPACED_RESOURCES.includes(ref)
            )
              return [];
            throw e;
          }
        },
        deleteObject: async (ref, obj) => {
          await ctx.client
            .delete(ref, obj.metadata.namespace ?? "", obj.metadata.name ?? "", {
              propagationPolicy: "Background",
              preconditions: { uid: obj.metadata.uid ?? "" },
            })
            .catch(ignoreNotFound);
        },
        writeConditions: async (ns, conditions) => {
          await ctx.client.patch(
            sub(REFS.namespaces, "status"),
            "",
            ns.metadata?.name ?? "",
            "merge",
            { status: { conditions } },
          );
        },
        finalize: async (ns, finalizers) => {
          const body = structuredClone(asKube({ apiVersion: "v1", kind: "Namespace", ...ns }));
          body.spec = { ...(body.spec ?? {}), finalizers };
          await ctx.client.update(sub(REFS.namespaces, "finalize"), "", body);
        },
        now: ctx.now,
        recheckMs: options.recheckMs ?? 500,
      });
  },
});
