/**
 * HorizontalPodAutoscaler between `autoscaling/v1` and `autoscaling/v2` (the stored version), as
 * kube-apiserver 1.32 converts through its internal version (`pkg/apis/autoscaling/v1/
 * conversion.go`). v1 knows only `targetCPUUtilizationPercentage` and
 * `currentCPUUtilizationPercentage`; everything else v2 holds travels in annotations, so a v1
 * client that reads an object and writes it back loses nothing:
 *
 * - `autoscaling.alpha.kubernetes.io/metrics`: the metrics other than a CPU utilization target,
 *   in v1's MetricSpec shape (`targetAverageValue`, `metricName`, …);
 * - `autoscaling.alpha.kubernetes.io/current-metrics`: every current metric, v1 MetricStatus shape;
 * - `autoscaling.alpha.kubernetes.io/conditions`: the conditions;
 * - `autoscaling.alpha.kubernetes.io/behavior`: `spec.behavior` as Go marshals kube's *internal*
 *   type, which has no json tags — `{"ScaleUp":{"StabilizationWindowSeconds":0,…}}` — and reads
 *   back case-insensitively as Go's `encoding/json` does.
 *
 * Reading v1 lifts them back out and removes them; the CPU target, if any, comes after the other
 * metrics (so a v2 `[cpu, memory]` comes back `[memory, cpu]`, as on kube); a v1 object without
 * any metric gets kube's implicit target, CPU at 80 %. v2 never shows these annotations.
 *
 * Pure: inputs are never modified (stored objects are shared and may be frozen).
 *
 * @module
 */
import type { KubeObject } from "../types.ts";
import { at, isObj, type Obj, objs } from "./_util.ts";

export const METRICS_ANNOTATION = "autoscaling.alpha.kubernetes.io/metrics";
export const CURRENT_METRICS_ANNOTATION = "autoscaling.alpha.kubernetes.io/current-metrics";
export const CONDITIONS_ANNOTATION = "autoscaling.alpha.kubernetes.io/conditions";
export const BEHAVIOR_ANNOTATION = "autoscaling.alpha.kubernetes.io/behavior";
/** `autoscaling.DefaultCPUUtilization`. */
export const DEFAULT_CPU_UTILIZATION = 80;

const ROUND_TRIP = [
  METRICS_ANNOTATION,
  BEHAVIOR_ANNOTATION,
  CURRENT_METRICS_ANNOTATION,
  CONDITIONS_ANNOTATION,
];

/** A conversion that cannot be done (an annotation that is not the JSON it must be). */
export class ConversionError extends Error {}

const clone = <T>(v: T): T => structuredClone(v);

/** Copies `from[key]` to `to[outKey]` when present (Go's omitempty pointers). */
function copyIf(to: Obj, outKey: string, from: unknown, key: string): void {
  const v = isObj(from) ? from[key] : undefined;
  if (v !== undefined && v !== null) to[outKey] = clone(v);
}

/** A non-pointer Quantity: Go marshals its zero value as "0". */
function quantityOrZero(from: unknown, key: string): unknown {
  const v = isObj(from) ? from[key] : undefined;
  return v === undefined || v === null ? "0" : clone(v);
}

function str(from: unknown, key: string): string {
  const v = isObj(from) ? from[key] : undefined;
  return typeof v === "string" ? v : "";
}

function crossRef(ref: unknown): Obj {
  const out: Obj = { kind: str(ref, "kind"), name: str(ref, "name") };
  copyIf(out, "apiVersion", ref, "apiVersion");
  return out;
}

function identifier(from: unknown, nameKey: string, selectorKey: string): Obj {
  const out: Obj = { name: str(from, nameKey) };
  copyIf(out, "selector", from, selectorKey);
  return out;
}

// ---- metrics: v2 → v1 ----

function metricSpecToV1(m: Obj): Obj {
  const out: Obj = { type: m.type ?? "" };
  if (isObj(m.object)) {
    const o = m.object;
    const v: Obj = {
      target: crossRef(o.describedObject),
      metricName: str(o.metric, "name"),
      targetValue: quantityOrZero(o.target, "value"),
    };
    copyIf(v, "selector", o.metric, "selector");
    copyIf(v, "averageValue", o.target, "averageValue");
    out.object = v;
  }
  if (isObj(m.pods)) {
    const p = m.pods;
    const v: Obj = {
      metricName: str(p.metric, "name"),
      targetAverageValue: quantityOrZero(p.target, "averageValue"),
    };
    copyIf(v, "selector", p.metric, "selector");
    out.pods = v;
  }
  for (const key of ["resource", "containerResource"] as const) {
    const r = m[key];
    if (!isObj(r)) continue;
    const v: Obj = { name: r.name ?? "" };
    copyIf(v, "targetAverageUtilization", r.target, "averageUtilization");
    copyIf(v, "targetAverageValue", r.target, "averageValue");
    if (key === "containerResource") v.container = r.container ?? "";
    out[key] = v;
  }
  if (isObj(m.external)) {
    const e = m.external;
    const v: Obj = { metricName: str(e.metric, "name") };
    copyIf(v, "metricSelector", e.metric, "selector");
    copyIf(v, "targetValue", e.target, "value");
    copyIf(v, "targetAverageValue", e.target, "averageValue");
    out.external = v;
  }
  return out;
}

function metricStatusToV1(m: Obj): Obj {
  const out: Obj = { type: m.type ?? "" };
  if (isObj(m.object)) {
    const o = m.object;
    const v: Obj = {
      target: crossRef(o.describedObject),
      metricName: str(o.metric, "name"),
      currentValue: quantityOrZero(o.current, "value"),
    };
    copyIf(v, "selector", o.metric, "selector");
    copyIf(v, "averageValue", o.current, "averageValue");
    out.object = v;
  }
  if (isObj(m.pods)) {
    const p = m.pods;
    const v: Obj = {
      metricName: str(p.metric, "name"),
      currentAverageValue: quantityOrZero(p.current, "averageValue"),
    };
    copyIf(v, "selector", p.metric, "selector");
    out.pods = v;
  }
  for (const key of ["resource", "containerResource"] as const) {
    const r = m[key];
    if (!isObj(r)) continue;
    const v: Obj = { name: r.name ?? "" };
    copyIf(v, "currentAverageUtilization", r.current, "averageUtilization");
    v.currentAverageValue = quantityOrZero(r.current, "averageValue");
    if (key === "containerResource") v.container = r.container ?? "";
    out[key] = v;
  }
  if (isObj(m.external)) {
    const e = m.external;
    const v: Obj = { metricName: str(e.metric, "name") };
    copyIf(v, "metricSelector", e.metric, "selector");
    v.currentValue = quantityOrZero(e.current, "value");
    copyIf(v, "currentAverageValue", e.current, "averageValue");
    out.external = v;
  }
  return out;
}

// ---- metrics: v1 → v2 ----

function metricSpecToV2(m: Obj): Obj {
  const out: Obj = { type: m.type ?? "" };
  if (isObj(m.object)) {
    const o = m.object;
    const target: Obj = { type: o.averageValue == null ? "Value" : "AverageValue" };
    target.value = quantityOrZero(o, "targetValue");
    copyIf(target, "averageValue", o, "averageValue");
    out.object = {
      describedObject: crossRef(o.target),
      metric: identifier(o, "metricName", "selector"),
      target,
    };
  }
  if (isObj(m.pods)) {
    const p = m.pods;
    out.pods = {
      metric: identifier(p, "metricName", "selector"),
      target: { type: "AverageValue", averageValue: quantityOrZero(p, "targetAverageValue") },
    };
  }
  for (const key of ["resource", "containerResource"] as const) {
    const r = m[key];
    if (!isObj(r)) continue;
    const utilization = r.targetAverageUtilization;
    const target: Obj = { type: utilization == null ? "AverageValue" : "Utilization" };
    copyIf(target, "averageUtilization", r, "targetAverageUtilization");
    copyIf(target, "averageValue", r, "targetAverageValue");
    const v: Obj = { name: r.name ?? "" };
    if (key === "containerResource") v.container = r.container ?? "";
    v.target = target;
    out[key] = v;
  }
  if (isObj(m.external)) {
    const e = m.external;
    const target: Obj = { type: e.targetValue == null ? "AverageValue" : "Value" };
    copyIf(target, "value", e, "targetValue");
    copyIf(target, "averageValue", e, "targetAverageValue");
    out.external = { metric: identifier(e, "metricName", "metricSelector"), target };
  }
  return out;
}

function metricStatusToV2(m: Obj): Obj {
  const out: Obj = { type: m.type ?? "" };
  if (isObj(m.object)) {
    const o = m.object;
    const current: Obj = { value: quantityOrZero(o, "currentValue") };
    copyIf(current, "averageValue", o, "averageValue");
    out.object = {
      describedObject: crossRef(o.target),
      metric: identifier(o, "metricName", "selector"),
      current,
    };
  }
  if (isObj(m.pods)) {
    const p = m.pods;
    out.pods = {
      metric: identifier(p, "metricName", "selector"),
      current: { averageValue: quantityOrZero(p, "currentAverageValue") },
    };
  }
  for (const key of ["resource", "containerResource"] as const) {
    const r = m[key];
    if (!isObj(r)) continue;
    const current: Obj = { averageValue: quantityOrZero(r, "currentAverageValue") };
    copyIf(current, "averageUtilization", r, "currentAverageUtilization");
    const v: Obj = { name: r.name ?? "" };
    if (key === "containerResource") v.container = r.container ?? "";
    v.current = current;
    out[key] = v;
  }
  if (isObj(m.external)) {
    const e = m.external;
    const current: Obj = { value: quantityOrZero(e, "currentValue") };
    copyIf(current, "averageValue", e, "currentAverageValue");
    out.external = { metric: identifier(e, "metricName", "metricSelector"), current };
  }
  return out;
}

// ---- behavior: Go's marshalling of the internal type ----

function rulesToGo(rules: unknown): unknown {
  if (!isObj(rules)) return null;
  const policies = Array.isArray(rules.policies)
    ? objs(rules.policies).map((p) => ({
        Type: p.type ?? "",
        Value: p.value ?? 0,
        PeriodSeconds: p.periodSeconds ?? 0,
      }))
    : null;
  return {
    StabilizationWindowSeconds: rules.stabilizationWindowSeconds ?? null,
    SelectPolicy: rules.selectPolicy ?? null,
    Policies: policies,
  };
}

/** Go's `encoding/json` matches keys case-insensitively (an exact match first). */
function field(o: Obj, name: string): unknown {
  if (name in o) return o[name];
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(o)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

function rulesFromGo(rules: unknown): Obj | undefined {
  if (!isObj(rules)) return undefined;
  const out: Obj = {};
  const window = field(rules, "StabilizationWindowSeconds");
  if (window !== undefined && window !== null) out.stabilizationWindowSeconds = window;
  const select = field(rules, "SelectPolicy");
  if (select !== undefined && select !== null) out.selectPolicy = select;
  const policies = field(rules, "Policies");
  if (Array.isArray(policies)) {
    out.policies = objs(policies).map((p) => ({
      type: field(p, "Type") ?? "",
      value: field(p, "Value") ?? 0,
      periodSeconds: field(p, "PeriodSeconds") ?? 0,
    }));
  }
  return out;
}

function parseAnnotation(value: string, what: string): unknown {
  try {
    return JSON.parse(value);
  } catch (e) {
    throw new ConversionError(`${what}: ${(e as Error).message}`);
  }
}

function parseList(value: string, what: string): Obj[] {
  const parsed = parseAnnotation(value, what);
  if (parsed !== null && !Array.isArray(parsed)) {
    throw new ConversionError(`${what}: json: cannot unmarshal object into Go value of type []`);
  }
  return objs(parsed);
}

// ---- whole objects ----

function withoutRoundTrip(annotations: unknown): Record<string, string> | undefined {
  if (!isObj(annotations)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(annotations)) {
    if (!ROUND_TRIP.includes(k) && typeof v === "string") out[k] = v;
  }
  return out;
}

function metadataWith(obj: KubeObject, annotations: Record<string, string> | undefined): Obj {
  const meta = clone(obj.metadata ?? {}) as Obj;
  if (annotations === undefined || Object.keys(annotations).length === 0) delete meta.annotations;
  else meta.annotations = annotations;
  return meta;
}

const isCpuResource = (m: Obj) => m.type === "Resource" && at(m, "resource", "name") === "cpu";

/** An `autoscaling/v2` HorizontalPodAutoscaler as `autoscaling/v1` shows it. */
export function hpaToV1(obj: KubeObject): KubeObject {
  const spec = isObj(obj.spec) ? obj.spec : {};
  const status = isObj(obj.status) ? obj.status : {};
  const metrics = objs(spec.metrics);
  const annotations = withoutRoundTrip(obj.metadata?.annotations) ?? {};

  const v1Spec: Obj = { scaleTargetRef: crossRef(spec.scaleTargetRef) };
  copyIf(v1Spec, "minReplicas", spec, "minReplicas");
  v1Spec.maxReplicas = spec.maxReplicas ?? 0;
  const cpu = metrics.find(isCpuResource);
  const cpuTarget = at(cpu, "resource", "target", "averageUtilization");
  if (cpuTarget !== undefined && cpuTarget !== null)
    v1Spec.targetCPUUtilizationPercentage = cpuTarget;

  const other = metrics.filter(
    (m) => !(isCpuResource(m) && at(m, "resource", "target", "averageUtilization") != null),
  );
  if (other.length > 0) annotations[METRICS_ANNOTATION] = JSON.stringify(other.map(metricSpecToV1));
  const current = objs(status.currentMetrics);
  if (current.length > 0) {
    annotations[CURRENT_METRICS_ANNOTATION] = JSON.stringify(current.map(metricStatusToV1));
  }
  if (isObj(spec.behavior)) {
    annotations[BEHAVIOR_ANNOTATION] = JSON.stringify({
      ScaleUp: rulesToGo(spec.behavior.scaleUp),
      ScaleDown: rulesToGo(spec.behavior.scaleDown),
    });
  }
  const conditions = objs(status.conditions);
  if (conditions.length > 0) {
    annotations[CONDITIONS_ANNOTATION] = JSON.stringify(
      conditions.map((c) => {
        const out: Obj = { type: c.type ?? "", status: c.status ?? "" };
        out.lastTransitionTime = c.lastTransitionTime ?? null;
        copyIf(out, "reason", c, "reason");
        copyIf(out, "message", c, "message");
        return out;
      }),
    );
  }

  const v1Status: Obj = {};
  copyIf(v1Status, "observedGeneration", status, "observedGeneration");
  copyIf(v1Status, "lastScaleTime", status, "lastScaleTime");
  v1Status.currentReplicas = status.currentReplicas ?? 0;
  v1Status.desiredReplicas = status.desiredReplicas ?? 0;
  // kube takes the last CPU entry here (no break, unlike the spec's first).
  for (const m of current) {
    const u = at(m, "resource", "current", "averageUtilization");
    if (isCpuResource(m) && u !== undefined && u !== null)
      v1Status.currentCPUUtilizationPercentage = u;
  }

  return {
    apiVersion: "autoscaling/v1",
    kind: "HorizontalPodAutoscaler",
    metadata: metadataWith(obj, annotations) as KubeObject["metadata"],
    spec: v1Spec,
    status: v1Status,
  };
}

/** An `autoscaling/v1` HorizontalPodAutoscaler as stored (`autoscaling/v2`). */
export function hpaToV2(obj: KubeObject): KubeObject {
  const spec = isObj(obj.spec) ? obj.spec : {};
  const status = isObj(obj.status) ? obj.status : {};
  const annotations = isObj(obj.metadata?.annotations) ? obj.metadata.annotations : {};
  const note = (key: string) =>
    typeof annotations[key] === "string" ? annotations[key] : undefined;

  const v2Spec: Obj = { scaleTargetRef: crossRef(spec.scaleTargetRef) };
  copyIf(v2Spec, "minReplicas", spec, "minReplicas");
  v2Spec.maxReplicas = spec.maxReplicas ?? 0;
  let metrics: Obj[] = [];
  const other = note(METRICS_ANNOTATION);
  if (other !== undefined) metrics = parseList(other, METRICS_ANNOTATION).map(metricSpecToV2);
  const cpu = spec.targetCPUUtilizationPercentage;
  if (cpu !== undefined && cpu !== null) {
    metrics.push({
      type: "Resource",
      resource: { name: "cpu", target: { type: "Utilization", averageUtilization: cpu } },
    });
  }
  if (metrics.length === 0) {
    metrics.push({
      type: "Resource",
      resource: {
        name: "cpu",
        target: { type: "Utilization", averageUtilization: DEFAULT_CPU_UTILIZATION },
      },
    });
  }
  v2Spec.metrics = metrics;
  const behavior = note(BEHAVIOR_ANNOTATION);
  if (behavior !== undefined) {
    const parsed = parseAnnotation(behavior, BEHAVIOR_ANNOTATION);
    if (isObj(parsed)) {
      const b: Obj = {};
      const up = rulesFromGo(field(parsed, "ScaleUp"));
      const down = rulesFromGo(field(parsed, "ScaleDown"));
      if (up) b.scaleUp = up;
      if (down) b.scaleDown = down;
      v2Spec.behavior = b;
    }
  }

  // v2's Go struct: currentReplicas is omitempty, desiredReplicas and currentMetrics are not.
  const v2Status: Obj = {};
  copyIf(v2Status, "observedGeneration", status, "observedGeneration");
  copyIf(v2Status, "lastScaleTime", status, "lastScaleTime");
  if (typeof status.currentReplicas === "number" && status.currentReplicas !== 0)
    v2Status.currentReplicas = status.currentReplicas;
  v2Status.desiredReplicas = status.desiredReplicas ?? 0;
  v2Status.currentMetrics = null;
  const currentNote = note(CURRENT_METRICS_ANNOTATION);
  if (currentNote !== undefined) {
    v2Status.currentMetrics = parseList(currentNote, CURRENT_METRICS_ANNOTATION).map(
      metricStatusToV2,
    );
  } else if (
    status.currentCPUUtilizationPercentage !== undefined &&
    status.currentCPUUtilizationPercentage !== null
  ) {
    v2Status.currentMetrics = [
      {
        type: "Resource",
        resource: {
          name: "cpu",
          current: { averageUtilization: status.currentCPUUtilizationPercentage },
        },
      },
    ];
  }
  const conditions = note(CONDITIONS_ANNOTATION);
  if (conditions !== undefined) {
    v2Status.conditions = parseList(conditions, CONDITIONS_ANNOTATION).map((c) => {
      const out: Obj = { type: c.type ?? "", status: c.status ?? "" };
      copyIf(out, "lastTransitionTime", c, "lastTransitionTime");
      copyIf(out, "reason", c, "reason");
      copyIf(out, "message", c, "message");
      return out;
    });
  }

  return {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: metadataWith(obj, withoutRoundTrip(annotations)) as KubeObject["metadata"],
    spec: v2Spec,
    status: v2Status,
  };
}

/** A v2 object as v2 shows it: no round-trip annotations (kube's v2 conversion drops them). */
export function hpaV2View(obj: KubeObject): KubeObject {
  const annotations = obj.metadata?.annotations;
  if (!isObj(annotations) || !ROUND_TRIP.some((k) => k in annotations)) return clone(obj);
  const out = clone(obj);
  out.metadata = metadataWith(obj, withoutRoundTrip(annotations)) as KubeObject["metadata"];
  return out;
}
