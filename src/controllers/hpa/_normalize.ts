/**
 * From the metrics' proposal to the replica count the HPA sets, as kube's HPA controller does
 * (`normalizeDesiredReplicas` and `…WithBehaviors`), pure over an `HpaMemory` the controller keeps
 * per HPA (recent recommendations and scale events, in memory like kube's):
 *
 * - Without `spec.behavior`: the highest recommendation of the downscale stabilization window
 *   (default 5 min) wins, then the count is held between minReplicas and the lesser of
 *   maxReplicas and the scale-up limit max(2 × current, 4).
 * - With `spec.behavior`: the scale-up window keeps the lowest recent recommendation, the
 *   scale-down window (its default the controller's 5 min) the highest; then the policies limit
 *   the change per period from the replica count at the period's start (`selectPolicy` Max takes
 *   the policy allowing the most change, Min the least, Disabled none).
 *
 * Each step reports the AbleToScale and ScalingLimited conditions' reason and message in kube's
 * words.
 *
 * @module
 */
import type { HPAScalingRules } from "kubernetes-types/autoscaling/v2.js";
import { DEFAULT_SCALE_DOWN_RULES, DEFAULT_SCALE_UP_RULES } from "../../api/kinds/index.ts";

export interface Recommendation {
  replicas: number;
  at: number;
}

export interface ScaleEvent {
  change: number;
  at: number;
}

/** What the controller remembers of one HPA between syncs. */
export interface HpaMemory {
  recommendations: Recommendation[];
  scaleUps: ScaleEvent[];
  scaleDowns: ScaleEvent[];
}

export const newMemory = (): HpaMemory => ({ recommendations: [], scaleUps: [], scaleDowns: [] });

export interface ConditionNote {
  reason: string;
  message: string;
}

export interface Normalized {
  replicas: number;
  /** AbleToScale (True) reason and message. */
  ableToScale: ConditionNote;
  /** ScalingLimited: limited when `limited`. */
  limited: boolean;
  scalingLimited: ConditionNote;
}

export interface NormalizeInput {
  currentReplicas: number;
  proposed: number;
  minReplicas: number;
  maxReplicas: number;
  behavior?: { scaleUp?: HPAScalingRules; scaleDown?: HPAScalingRules } | undefined;
}

const READY: ConditionNote = {
  reason: "ReadyForNewScale",
  message: "recommended size matches current size",
};
const WITHIN: ConditionNote = {
  reason: "DesiredWithinRange",
  message: "the desired count is within the acceptable range",
};
const TOO_FEW: ConditionNote = {
  reason: "TooFewReplicas",
  message: "the desired replica count is less than the minimum replica count",
};
const TOO_MANY: ConditionNote = {
  reason: "TooManyReplicas",
  message: "the desired replica count is more than the maximum replica count",
};
const UP_LIMIT: ConditionNote = {
  reason: "ScaleUpLimit",
  message: "the desired replica count is increasing faster than the maximum scale rate",
};
const DOWN_LIMIT: ConditionNote = {
  reason: "ScaleDownLimit",
  message: "the desired replica count is decreasing faster than the maximum scale rate",
};
const DOWN_STABILIZED: ConditionNote = {
  reason: "ScaleDownStabilized",
  message:
    "recent recommendations were higher than current one, applying the highest recent recommendation",
};
const UP_STABILIZED: ConditionNote = {
  reason: "ScaleUpStabilized",
  message:
    "recent recommendations were lower than current one, applying the lowest recent recommendation",
};

/** Records `replicas` as this sync's recommendation, reusing one slot older than `keepMs`. */
function record(memory: HpaMemory, replicas: number, now: number, keepMs: number): void {
  const old = memory.recommendations.findLastIndex((r) => r.at < now - keepMs);
  if (old >= 0) memory.recommendations[old] = { replicas, at: now };
  else memory.recommendations.push({ replicas, at: now });
}

/** The first sync remembers the current count as a recommendation (kube's initial one). */
export function recordInitial(memory: HpaMemory, currentReplicas: number, now: number): void {
  if (memory.recommendations.length === 0) {
    memory.recommendations.push({ replicas: currentReplicas, at: now });
  }
}

/** Remembers a rescale for the behavior policies (only HPAs with `spec.behavior` keep them). */
export function recordScale(
  memory: HpaMemory,
  input: { from: number; to: number; behavior: unknown },
  now: number,
): void {
  if (!input.behavior) return;
  const longest = (rules: HPAScalingRules | undefined) =>
    Math.max(0, ...(rules?.policies ?? []).map((p) => p.periodSeconds * 1000));
  const b = input.behavior as NonNullable<NormalizeInput["behavior"]>;
  const change = Math.abs(input.to - input.from);
  if (input.to > input.from) {
    const keep = longest(b.scaleUp);
    memory.scaleUps = memory.scaleUps.filter((e) => e.at >= now - keep);
    memory.scaleUps.push({ change, at: now });
  } else if (input.to < input.from) {
    const keep = longest(b.scaleDown);
    memory.scaleDowns = memory.scaleDowns.filter((e) => e.at >= now - keep);
    memory.scaleDowns.push({ change, at: now });
  }
}

/** Without `spec.behavior`. */
function normalizePlain(
  input: NormalizeInput,
  memory: HpaMemory,
  o: { now: number; downscaleStabilizationMs: number },
): Normalized {
  const cutoff = o.now - o.downscaleStabilizationMs;
  let stabilized = input.proposed;
  for (const r of memory.recommendations) {
    if (r.at >= cutoff && r.replicas > stabilized) stabilized = r.replicas;
  }
  record(memory, input.proposed, o.now, o.downscaleStabilizationMs);
  const ableToScale = stabilized !== input.proposed ? DOWN_STABILIZED : READY;
  const scaleUpLimit = Math.max(2 * input.currentReplicas, 4);
  let replicas = stabilized;
  let note = WITHIN;
  if (stabilized < input.minReplicas) {
    replicas = input.minReplicas;
    note = TOO_FEW;
  } else {
    const max = Math.min(input.maxReplicas, scaleUpLimit);
    if (stabilized > max) {
      replicas = max;
      note = input.maxReplicas > scaleUpLimit ? UP_LIMIT : TOO_MANY;
    }
  }
  return { replicas, ableToScale, limited: replicas !== stabilized, scalingLimited: note };
}

const changedWithin = (events: readonly ScaleEvent[], periodSeconds: number, now: number) =>
  events.filter((e) => e.at > now - periodSeconds * 1000).reduce((sum, e) => sum + e.change, 0);

function scaleLimit(
  direction: "up" | "down",
  current: number,
  rules: HPAScalingRules,
  memory: HpaMemory,
  now: number,
): number {
  if (rules.selectPolicy === "Disabled") return current;
  // Up: Max picks the largest proposal; down: Max picks the one allowing the most change (lowest).
  const most = (rules.selectPolicy ?? "Max") === "Max";
  const pick = (direction === "up") === most ? Math.max : Math.min;
  let result = (direction === "up") === most ? -Infinity : Infinity;
  for (const p of rules.policies ?? []) {
    const start =
      current -
      changedWithin(memory.scaleUps, p.periodSeconds, now) +
      changedWithin(memory.scaleDowns, p.periodSeconds, now);
    let proposed: number;
    if (direction === "up") {
      proposed = p.type === "Pods" ? start + p.value : Math.ceil(start * (1 + p.value / 100));
    } else {
      proposed = p.type === "Pods" ? start - p.value : Math.trunc(start * (1 - p.value / 100));
    }
    result = pick(result, proposed);
  }
  return result;
}

/** With `spec.behavior` (its unset rules filled from kube's defaults). */
function normalizeWithBehavior(
  input: NormalizeInput,
  memory: HpaMemory,
  o: { now: number; downscaleStabilizationMs: number },
): Normalized {
  const up: HPAScalingRules = {
    ...structuredClone(DEFAULT_SCALE_UP_RULES),
    ...(input.behavior?.scaleUp ?? {}),
  } as HPAScalingRules;
  const down: HPAScalingRules = {
    stabilizationWindowSeconds: o.downscaleStabilizationMs / 1000,
    ...structuredClone(DEFAULT_SCALE_DOWN_RULES),
    ...(input.behavior?.scaleDown ?? {}),
  } as HPAScalingRules;
  const upWindow = (up.stabilizationWindowSeconds ?? 0) * 1000;
  const downWindow = (down.stabilizationWindowSeconds ?? 0) * 1000;
  let upRecommendation = input.proposed;
  let downRecommendation = input.proposed;
  for (const r of memory.recommendations) {
    if (r.at > o.now - upWindow) upRecommendation = Math.min(upRecommendation, r.replicas);
    if (r.at > o.now - downWindow) downRecommendation = Math.max(downRecommendation, r.replicas);
  }
  let stabilized = Math.max(input.currentReplicas, upRecommendation);
  stabilized = Math.min(stabilized, downRecommendation);
  record(memory, input.proposed, o.now, Math.max(upWindow, downWindow));
  const stabilizedNote = input.proposed >= input.currentReplicas ? UP_STABILIZED : DOWN_STABILIZED;
  const ableToScale = stabilized !== input.proposed ? stabilizedNote : READY;

  let replicas = stabilized;
  let note = WITHIN;
  const current = input.currentReplicas;
  if (stabilized > current) {
    const limit = Math.max(scaleLimit("up", current, up, memory, o.now), current);
    const max = Math.min(input.maxReplicas, limit);
    if (stabilized > max) {
      replicas = max;
      note = input.maxReplicas > limit ? UP_LIMIT : TOO_MANY;
    }
  } else if (stabilized < current) {
    const limit = Math.min(scaleLimit("down", current, down, memory, o.now), current);
    const min = Math.max(input.minReplicas, limit);
    if (stabilized < min) {
      replicas = min;
      note = input.minReplicas < limit ? DOWN_LIMIT : TOO_FEW;
    }
  }
  return { replicas, ableToScale, limited: replicas !== stabilized, scalingLimited: note };
}

/** The replica count to set for a proposal, and the conditions that explain it. */
export function normalizeReplicas(
  input: NormalizeInput,
  memory: HpaMemory,
  options: { now: number; downscaleStabilizationMs: number },
): Normalized {
  return input.behavior
    ? normalizeWithBehavior(input, memory, options)
    : normalizePlain(input, memory, options);
}
