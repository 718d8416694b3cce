/**
 * core/v1 pods: defaults (SetDefaults_Pod), fields of disabled feature gates dropped
 * (pod_gates.ts), create-time status (Pending plus QoS class), validation with the pod update
 * restriction, `kubectl get pods` columns and the field
 * selectors kube supports for pods.
 *
 * @module
 */
import type { KubeObject } from "../types.ts";
import { at, child, isObj, type Obj, objs, str } from "./_util.ts";
import { nameIsDNSSubdomain, validateObjectMeta, validateObjectMetaUpdate } from "./meta.ts";
import { defaultPod } from "./pod_defaults.ts";
import { validateEphemeralContainersUpdate, validateNoEphemeralOnCreate } from "./pod_ephemeral.ts";
import { dropDisabledPodFields } from "./pod_gates.ts";
import { podColumns, podRow, podRowConditions } from "./pod_printer.ts";
import { keepPriority, mergeAffinityLabelKeys } from "./pod_scheduling.ts";
import { validatePodSpec, validatePodSpecUpdate } from "./pod_validation.ts";
import type { KindStrategy } from "./types.ts";

/** The QoS class kube computes on create: BestEffort, Guaranteed or Burstable. */
export function podQOSClass(spec: unknown): "BestEffort" | "Guaranteed" | "Burstable" {
  const containers = [...objs(at(spec, "initContainers")), ...objs(at(spec, "containers"))];
  let any = false;
  let guaranteed = true;
  for (const c of containers) {
    const requests = isObj(at(c, "resources", "requests"))
      ? (at(c, "resources", "requests") as Obj)
      : {};
    const limits = isObj(at(c, "resources", "limits")) ? (at(c, "resources", "limits") as Obj) : {};
    for (const r of ["cpu", "memory"]) {
      if (requests[r] !== undefined || limits[r] !== undefined) any = true;
      if (limits[r] === undefined) guaranteed = false;
      else if (requests[r] !== undefined && String(requests[r]) !== String(limits[r]))
        guaranteed = false;
    }
  }
  if (!any) return "BestEffort";
  return guaranteed ? "Guaranteed" : "Burstable";
}

export const podStrategy: KindStrategy = {
  group: "",
  version: "v1",
  kind: "Pod",
  resource: "pods",
  singular: "pod",
  shortNames: ["po"],
  categories: ["all"],
  namespaced: true,
  hasGeneration: false,
  hasStatus: true,
  applyDefaults(obj) {
    defaultPod(obj as Obj);
  },
  prepareForCreate(obj) {
    dropDisabledPodFields(obj as Obj);
    mergeAffinityLabelKeys(obj as Obj);
    const spec = child(obj as Obj, "spec");
    const status: Obj = { phase: "Pending", qosClass: podQOSClass(spec) };
    if (objs(spec.schedulingGates).length > 0) {
      status.conditions = [
        {
          type: "PodScheduled",
          status: "False",
          reason: "SchedulingGated",
          message: "Scheduling is blocked due to non-empty scheduling gates",
        },
      ];
    }
    obj.status = status;
  },
  prepareForUpdate(obj, old) {
    dropDisabledPodFields(obj as Obj, old as Obj);
    keepPriority(obj.spec, old.spec);
  },
  validate(obj) {
    return [
      ...validateObjectMeta(obj.metadata, { namespaced: true, nameRule: nameIsDNSSubdomain }),
      ...validatePodSpec(obj.spec, "spec"),
      ...validateNoEphemeralOnCreate(obj.spec, "spec"),
    ];
  },
  validateUpdate(obj, old) {
    return [
      ...validateObjectMetaUpdate(obj.metadata, old.metadata),
      ...validatePodSpec(obj.spec, "spec"),
      ...validatePodSpecUpdate(obj.spec, old.spec, "spec"),
    ];
  },
  validateEphemeralContainersUpdate(obj, old) {
    return [
      ...validateObjectMetaUpdate(obj.metadata, old.metadata),
      ...validatePodSpec(obj.spec, "spec"),
      ...validateEphemeralContainersUpdate(obj as Obj, old as Obj),
    ];
  },
  columns: podColumns,
  row: podRow,
  rowConditions: podRowConditions,
  selectableFields(obj: KubeObject) {
    return {
      "spec.nodeName": str(at(obj, "spec", "nodeName")),
      "spec.restartPolicy": str(at(obj, "spec", "restartPolicy")),
      "spec.schedulerName": str(at(obj, "spec", "schedulerName")),
      "spec.serviceAccountName": str(at(obj, "spec", "serviceAccountName")),
      "spec.hostNetwork": String(at(obj, "spec", "hostNetwork") === true),
      "status.phase": str(at(obj, "status", "phase")),
      "status.podIP": str(at(obj, "status", "podIPs", 0, "ip")) || str(at(obj, "status", "podIP")),
      "status.nominatedNodeName": str(at(obj, "status", "nominatedNodeName")),
    };
  },
};
