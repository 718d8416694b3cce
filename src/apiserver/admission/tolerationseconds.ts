/**
 * DefaultTolerationSeconds admission, as kube-apiserver's plugin of that name: a pod created
 * without a toleration of `node.kubernetes.io/not-ready:NoExecute` (or of every key, or of
 * every effect) gets `{key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute,
 * tolerationSeconds: 300}`, and the same for `node.kubernetes.io/unreachable`: when its node
 * stops reporting, the pod is evicted after five minutes rather than at once.
 *
 * @module
 */
import type { Toleration } from "kubernetes-types/core/v1.js";
import type { Admission } from "../registry/index.ts";

export const NOT_READY_TAINT = "node.kubernetes.io/not-ready";
export const UNREACHABLE_TAINT = "node.kubernetes.io/unreachable";
/** kube-apiserver's `--default-not-ready-toleration-seconds` and `--default-unreachable-toleration-seconds`. */
export const DEFAULT_TOLERATION_SECONDS = 300;

function toleratesNoExecute(tolerations: readonly Toleration[], key: string): boolean {
  return tolerations.some(
    (t) =>
      ((t.key ?? "") === key || (t.key ?? "") === "") &&
      ((t.effect ?? "") === "NoExecute" || (t.effect ?? "") === ""),
  );
}

export function defaultTolerationSecondsAdmission(seconds = DEFAULT_TOLERATION_SECONDS): Admission {
  return {
    create(info, pod) {
      if (info.group !== "" || info.resource !== "pods") return undefined;
      const spec = (pod.spec ?? {}) as { tolerations?: Toleration[] };
      const tolerations = [...(spec.tolerations ?? [])];
      for (const key of [NOT_READY_TAINT, UNREACHABLE_TAINT]) {
        if (!toleratesNoExecute(tolerations, key))
          tolerations.push({
            key,
            operator: "Exists",
            effect: "NoExecute",
            tolerationSeconds: seconds,
          });
      }
      if (tolerations.length !== (spec.tolerations ?? []).length)
        pod.spec = { ...spec, tolerations };
      return undefined;
    },
  };
}
