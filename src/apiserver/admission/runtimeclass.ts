/**
 * RuntimeClass admission, as kube-apiserver's plugin of that name
 * (`plugin/pkg/admission/runtimeclass`), on pod creation:
 *
 * - a pod naming a RuntimeClass that does not exist is refused
 *   (`pod rejected: RuntimeClass "x" not found`);
 * - the class's `overhead.podFixed` becomes the pod's `spec.overhead`; a pod that sets an
 *   overhead of its own must set exactly that, and a pod may not set one without such a class;
 * - the class's `scheduling.nodeSelector` is merged into the pod's (a key with another value is
 *   a conflict, refused in kube's words) and its `scheduling.tolerations` into the pod's, a
 *   toleration that another one covers left out (kube's MergeTolerations).
 *
 * @module
 */
import type { Toleration } from "kubernetes-types/core/v1.js";
import { parseQuantity } from "../../api/quantity.ts";
import type { KubeObject } from "../../api/types.ts";
import type { Store } from "../../store/types.ts";
import type { Admission } from "../registry/index.ts";
import { findResource, storeKey } from "../resources.ts";
import { admissionForbidden } from "./_forbidden.ts";

type Quantities = Record<string, string | number>;

interface RuntimeClass extends KubeObject {
  handler?: string;
  overhead?: { podFixed?: Quantities };
  scheduling?: { nodeSelector?: Record<string, string>; tolerations?: Toleration[] };
}

interface PodSpecFields {
  runtimeClassName?: string;
  overhead?: Quantities;
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
}

/** apimachinery's semantic equality of two resource lists (`1` equals `1000m`). */
function sameQuantities(a: Quantities | undefined, b: Quantities | undefined): boolean {
  const ka = Object.keys(a ?? {});
  const kb = Object.keys(b ?? {});
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    const x = a?.[k];
    const y = b?.[k];
    if (x === undefined || y === undefined) return false;
    try {
      if (parseQuantity(x) !== parseQuantity(y)) return false;
    } catch {
      if (String(x) !== String(y)) return false;
    }
  }
  return true;
}

const sameToleration = (a: Toleration, b: Toleration) =>
  (a.key ?? "") === (b.key ?? "") &&
  (a.operator ?? "") === (b.operator ?? "") &&
  (a.value ?? "") === (b.value ?? "") &&
  (a.effect ?? "") === (b.effect ?? "") &&
  (a.tolerationSeconds ?? null) === (b.tolerationSeconds ?? null);

/** Whether `wider` tolerates everything `t` does (kube's isSuperset). */
function covers(wider: Toleration, t: Toleration): boolean {
  if (sameToleration(wider, t)) return true;
  const matchAllKeys = (wider.key ?? "") === "" && wider.operator === "Exists";
  if ((t.key ?? "") !== (wider.key ?? "") && !matchAllKeys) return false;
  if ((t.effect ?? "") !== (wider.effect ?? "") && (wider.effect ?? "") !== "") return false;
  if (wider.effect === "NoExecute" && wider.tolerationSeconds !== undefined) {
    if (t.tolerationSeconds === undefined || t.tolerationSeconds > wider.tolerationSeconds)
      return false;
  }
  if (wider.operator === "Exists") return true;
  if ((wider.operator ?? "Equal") !== "Equal") return false;
  return (t.operator ?? "Equal") === "Equal" && (t.value ?? "") === (wider.value ?? "");
}

/** kube's MergeTolerations: both lists in order, each toleration another one covers left out. */
export function mergeTolerations(first: Toleration[], second: Toleration[]): Toleration[] {
  const all = [...first, ...second];
  const merged: Toleration[] = [];
  all.forEach((t, i) => {
    if (merged.some((kept) => covers(kept, t))) return;
    if (all.slice(i + 1).some((later) => !sameToleration(t, later) && covers(later, t))) return;
    merged.push(t);
  });
  return merged;
}

export function runtimeClassAdmission(store: Store): Admission {
  const classes = findResource("node.k8s.io", "runtimeclasses")!;
  return {
    create(info, pod) {
      if (info.group !== "" || info.resource !== "pods") return undefined;
      const spec = (pod.spec ?? {}) as PodSpecFields;
      const name = spec.runtimeClassName;
      let rc: RuntimeClass | undefined;
      if (name) {
        rc = store.get(storeKey(classes, "", name)) as RuntimeClass | undefined;
        if (!rc)
          throw admissionForbidden(info, pod, `pod rejected: RuntimeClass "${name}" not found`);
      }
      const fixed = rc?.overhead?.podFixed;
      if (fixed) {
        if (spec.overhead && !sameQuantities(spec.overhead, fixed))
          throw admissionForbidden(
            info,
            pod,
            "pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead",
          );
        spec.overhead = { ...fixed };
      } else if (spec.overhead) {
        throw admissionForbidden(
          info,
          pod,
          "pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead",
        );
      }
      const scheduling = rc?.scheduling;
      if (scheduling?.nodeSelector) {
        const selector = { ...(spec.nodeSelector ?? {}) };
        for (const [k, v] of Object.entries(scheduling.nodeSelector)) {
          const have = selector[k];
          if (have !== undefined && have !== v)
            throw admissionForbidden(
              info,
              pod,
              `conflict: runtimeClass.scheduling.nodeSelector[${k}] = ${v}; pod.spec.nodeSelector[${k}] = ${have}`,
            );
          selector[k] = v;
        }
        spec.nodeSelector = selector;
      }
      if (scheduling?.tolerations?.length)
        spec.tolerations = mergeTolerations(spec.tolerations ?? [], scheduling.tolerations);
      pod.spec = spec;
      return undefined;
    },
  };
}
