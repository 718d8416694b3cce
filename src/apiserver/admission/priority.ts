/**
 * Priority admission, as kube-apiserver's plugin of that name (`plugin/pkg/admission/priority`):
 *
 * - a pod created with `priorityClassName` gets that class's `value` as `spec.priority` and its
 *   `preemptionPolicy`; a missing class is refused (`pods "x" is forbidden: no PriorityClass with
 *   name y was found`);
 * - a pod without one gets the global default class (the lowest value among those marked
 *   `globalDefault`), its name included, or else priority 0 and `PreemptLowerPriority`;
 * - a pod that states its own `priority` or `preemptionPolicy` must state what the class gives,
 *   else it is refused with kube's words;
 * - a PriorityClass may be marked `globalDefault` only while no other is
 *   (`PriorityClass x is already marked as default. Only one default can exist`).
 *
 * Reads the PriorityClasses from the store at each pod creation (a handful of objects).
 *
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import type { Store } from "../../store/types.ts";
import type { Admission } from "../registry/index.ts";
import { findResource, storeKey, storePrefix } from "../resources.ts";
import { admissionForbidden } from "./_forbidden.ts";

interface PriorityClass extends KubeObject {
  value?: number;
  globalDefault?: boolean;
  preemptionPolicy?: string;
}

interface PodSpecPriority {
  priorityClassName?: string;
  priority?: number;
  preemptionPolicy?: string;
}

const CLASSES = () => findResource("scheduling.k8s.io", "priorityclasses")!;

/** The global default class: among those marked, the lowest value (kube's getDefaultPriorityClass). */
export function defaultPriorityClass(store: Store): PriorityClass | undefined {
  let best: PriorityClass | undefined;
  for (const pc of store.list(storePrefix(CLASSES(), "")).items as PriorityClass[]) {
    if (pc.globalDefault !== true) continue;
    if (!best || (pc.value ?? 0) < (best.value ?? 0)) best = pc;
  }
  return best;
}

function admitPod(
  store: Store,
  info: Parameters<NonNullable<Admission["create"]>>[0],
  pod: KubeObject,
) {
  const spec = (pod.spec ?? {}) as PodSpecPriority;
  let className = spec.priorityClassName ?? "";
  let priority = 0;
  let policy: string | undefined = "PreemptLowerPriority";
  if (className === "") {
    const fallback = defaultPriorityClass(store);
    if (fallback) {
      className = fallback.metadata.name ?? "";
      priority = fallback.value ?? 0;
      policy = fallback.preemptionPolicy;
    }
  } else {
    const pc = store.get(storeKey(CLASSES(), "", className)) as PriorityClass | undefined;
    if (!pc)
      throw admissionForbidden(info, pod, `no PriorityClass with name ${className} was found`);
    priority = pc.value ?? 0;
    policy = pc.preemptionPolicy;
  }
  if (spec.priority !== undefined && spec.priority !== null && spec.priority !== priority) {
    throw admissionForbidden(
      info,
      pod,
      `the integer value of priority (${spec.priority}) must not be provided in pod spec; priority admission controller computed ${priority} from the given PriorityClass name`,
    );
  }
  if (policy !== undefined && spec.preemptionPolicy && spec.preemptionPolicy !== policy) {
    throw admissionForbidden(
      info,
      pod,
      `the string value of PreemptionPolicy (${spec.preemptionPolicy}) must not be provided in pod spec; priority admission controller computed ${policy} from the given PriorityClass name`,
    );
  }
  const next: PodSpecPriority = { ...spec, priority };
  if (className !== "") next.priorityClassName = className;
  if (policy !== undefined) next.preemptionPolicy = policy;
  pod.spec = next;
}

function admitClass(
  store: Store,
  info: Parameters<NonNullable<Admission["create"]>>[0],
  pc: KubeObject,
  update: boolean,
) {
  if ((pc as PriorityClass).globalDefault !== true) return;
  const current = defaultPriorityClass(store);
  if (!current) return;
  if (!update || current.metadata.name !== pc.metadata.name) {
    throw admissionForbidden(
      info,
      pc,
      `PriorityClass ${current.metadata.name ?? ""} is already marked as default. Only one default can exist`,
    );
  }
}

export function priorityAdmission(store: Store): Admission {
  return {
    create(info, obj) {
      if (info.group === "" && info.resource === "pods") admitPod(store, info, obj);
      else if (info.group === "scheduling.k8s.io" && info.resource === "priorityclasses")
        admitClass(store, info, obj, false);
      return undefined;
    },
    update(info, obj) {
      if (info.group === "scheduling.k8s.io" && info.resource === "priorityclasses")
        admitClass(store, info, obj, true);
      return undefined;
    },
  };
}
