/**
 * autoscaling HorizontalPodAutoscalers, stored as `autoscaling/v2` (v1 is a view, see
 * `hpa_convert.ts`): kube 1.32's v2 defaults (minReplicas 1, a CPU target of 80 % when no metric
 * is given, the unset parts of a given `behavior` filled from the scale-up and scale-down
 * defaults — scale-down's stabilization window stays unset, the controller's flag fills it),
 * validation (`hpa_validation.ts`), a create that clears status and an update that keeps it, and
 * the `kubectl get hpa` columns: NAME REFERENCE TARGETS MINPODS MAXPODS REPLICAS AGE, TARGETS as
 * kubectl 1.32 prints them (`cpu: 45%/50%`, `<unknown>` before the first measurement, at most
 * two metrics then `+ N more...`).
 *
 * @module
 */
import { sinceTimestamp } from "../duration.ts";
import type { KubeObject } from "../types.ts";
import { AGE, column, NAME } from "./_columns.ts";
import { at, child, isObj, type Obj, objs } from "./_util.ts";
import { DEFAULT_CPU_UTILIZATION, hpaToV2, hpaV2View } from "./hpa_convert.ts";
import { validateHpaSpec, validateHpaStatus } from "./hpa_validation.ts";
import { nameIsDNSSubdomain, validateObjectMeta, validateObjectMetaUpdate } from "./meta.ts";
import type { KindStrategy } from "./types.ts";

/** `GenerateHPAScaleUpRules`' defaults: no window, the larger of 4 pods or 100 % per 15 s. */
export const DEFAULT_SCALE_UP_RULES = {
  stabilizationWindowSeconds: 0,
  selectPolicy: "Max",
  policies: [
    { type: "Pods", value: 4, periodSeconds: 15 },
    { type: "Percent", value: 100, periodSeconds: 15 },
  ],
} as const;

/** `GenerateHPAScaleDownRules`' defaults: 100 % per 15 s; the window is the controller's flag. */
export const DEFAULT_SCALE_DOWN_RULES = {
  selectPolicy: "Max",
  policies: [{ type: "Percent", value: 100, periodSeconds: 15 }],
} as const;

function fillRules(rules: unknown, defaults: Obj): Obj {
  const out: Obj = isObj(rules) ? rules : {};
  for (const [key, value] of Object.entries(defaults)) {
    if (out[key] === undefined || out[key] === null) out[key] = structuredClone(value);
  }
  return out;
}

export function defaultHpa(hpa: Obj): void {
  const spec = child(hpa, "spec");
  if (spec.minReplicas === undefined || spec.minReplicas === null) spec.minReplicas = 1;
  if (objs(spec.metrics).length === 0) {
    spec.metrics = [
      {
        type: "Resource",
        resource: {
          name: "cpu",
          target: { type: "Utilization", averageUtilization: DEFAULT_CPU_UTILIZATION },
        },
      },
    ];
  }
  if (isObj(spec.behavior)) {
    spec.behavior.scaleUp = fillRules(spec.behavior.scaleUp, DEFAULT_SCALE_UP_RULES);
    spec.behavior.scaleDown = fillRules(spec.behavior.scaleDown, DEFAULT_SCALE_DOWN_RULES);
  }
}

function quantity(v: unknown): string {
  return v === undefined || v === null ? "<unknown>" : String(v);
}

/** kubectl's formatHPAMetrics over a v2 spec and status. */
export function formatHpaTargets(spec: unknown, status: unknown): string {
  const specs = objs(at(spec, "metrics"));
  if (specs.length === 0) return "<none>";
  const statuses = Array.isArray(at(status, "currentMetrics"))
    ? (at(status, "currentMetrics") as unknown[])
    : [];
  const list = specs.map((m, i) => {
    const st = statuses[i];
    const cur = (key: string, ...path: string[]) =>
      isObj(st) && isObj(st[key]) ? at(st[key], ...path) : undefined;
    const has = (key: string) => isObj(st) && isObj(st[key]);
    switch (m.type) {
      case "External":
      case "Object": {
        const key = m.type === "External" ? "external" : "object";
        const target = at(m, key, "target");
        if (at(target, "averageValue") !== undefined && at(target, "averageValue") !== null) {
          const c = cur(key, "current", "averageValue");
          return `${quantity(c)}/${String(at(target, "averageValue"))} (avg)`;
        }
        const c = has(key) ? (cur(key, "current", "value") ?? "0") : undefined;
        return `${quantity(c)}/${quantity(at(target, "value"))}`;
      }
      case "Pods": {
        const c = has("pods") ? (cur("pods", "current", "averageValue") ?? "0") : undefined;
        return `${quantity(c)}/${quantity(at(m, "pods", "target", "averageValue"))}`;
      }
      case "Resource":
      case "ContainerResource": {
        const key = m.type === "Resource" ? "resource" : "containerResource";
        const name = String(at(m, key, "name") ?? "");
        const average = at(m, key, "target", "averageValue");
        if (average !== undefined && average !== null) {
          const c = has(key) ? (cur(key, "current", "averageValue") ?? "0") : undefined;
          return `${name}: ${quantity(c)}/${String(average)}`;
        }
        const u = cur(key, "current", "averageUtilization");
        const current = typeof u === "number" ? `${u}%` : "<unknown>";
        const t = at(m, key, "target", "averageUtilization");
        return `${name}: ${current}/${typeof t === "number" ? `${t}%` : "<auto>"}`;
      }
      default:
        return "<unknown type>";
    }
  });
  const maximum = 2;
  if (list.length > maximum) {
    return `${list.slice(0, maximum).join(", ")} + ${list.length - maximum} more...`;
  }
  return list.join(", ");
}

/** The object as v2 (a v1 view is converted back, as kube prints its internal version). */
function asV2(obj: KubeObject): KubeObject {
  if (obj.apiVersion !== "autoscaling/v1") return obj;
  try {
    return hpaToV2(obj);
  } catch {
    return obj;
  }
}

export const hpaStrategy: KindStrategy = {
  group: "autoscaling",
  version: "v2",
  kind: "HorizontalPodAutoscaler",
  resource: "horizontalpodautoscalers",
  singular: "horizontalpodautoscaler",
  shortNames: ["hpa"],
  categories: ["all"],
  namespaced: true,
  hasGeneration: false,
  hasStatus: true,
  applyDefaults(obj) {
    // v2 writes never keep the annotations v1 uses to carry v2's fields.
    const annotations = obj.metadata.annotations;
    if (annotations && Object.keys(annotations).some((k) => k.startsWith("autoscaling.alpha."))) {
      obj.metadata = hpaV2View(obj).metadata;
    }
    defaultHpa(obj as Obj);
  },
  prepareForCreate(obj) {
    obj.status = { desiredReplicas: 0, currentMetrics: null };
  },
  validate(obj) {
    return [
      ...validateObjectMeta(obj.metadata, { namespaced: true, nameRule: nameIsDNSSubdomain }),
      ...validateHpaSpec(isObj(obj.spec) ? obj.spec : {}, 1),
    ];
  },
  validateUpdate(obj, old) {
    const hadZero = at(old, "spec", "minReplicas") === 0;
    return [
      ...validateObjectMetaUpdate(obj.metadata, old.metadata),
      ...validateHpaSpec(isObj(obj.spec) ? obj.spec : {}, hadZero ? 0 : 1),
      ...validateHpaStatus(obj.status),
    ];
  },
  columns: [
    NAME,
    column(
      "Reference",
      "string",
      "scaleTargetRef points to the target resource to scale, and is used to the pods for which metrics should be collected, as well as to actually change the replica count.",
    ),
    column(
      "Targets",
      "string",
      "metrics contains the specifications for which to use to calculate the desired replica count (the maximum replica count across all metrics will be used).  The desired replica count is calculated multiplying the ratio between the target value and the current value by the current number of pods.  Ergo, metrics used must decrease as the pod count is increased, and vice-versa.  See the individual metric source types for more information about how each type of metric must respond.",
    ),
    column(
      "MinPods",
      "string",
      "minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down.  It defaults to 1 pod.  minReplicas is allowed to be 0 if the alpha feature gate HPAScaleToZero is enabled and at least one Object or External metric is configured.  Scaling is active as long as at least one metric value is available.",
    ),
    column(
      "MaxPods",
      "integer",
      "maxReplicas is the upper limit for the number of replicas to which the autoscaler can scale up. It cannot be less that minReplicas.",
    ),
    column(
      "Replicas",
      "string",
      "currentReplicas is current number of replicas of pods managed by this autoscaler, as last seen by the autoscaler.",
    ),
    AGE,
  ],
  row(input, now) {
    const obj = asV2(input);
    const ref = at(obj, "spec", "scaleTargetRef");
    const min = at(obj, "spec", "minReplicas");
    const max = at(obj, "spec", "maxReplicas");
    const current = at(obj, "status", "currentReplicas");
    return [
      obj.metadata.name,
      `${String(at(ref, "kind") ?? "")}/${String(at(ref, "name") ?? "")}`,
      formatHpaTargets(obj.spec, obj.status),
      typeof min === "number" ? String(min) : "<unset>",
      typeof max === "number" ? max : 0,
      typeof current === "number" ? current : 0,
      sinceTimestamp(obj.metadata.creationTimestamp, now),
    ];
  },
};
