/**
 * Scoring of the nodes a pod fits, as kube-scheduler's default profile weighs them: each plugin
 * gives every feasible node 0–100, times its weight, summed; the highest total wins (ties: fewer
 * pods, then name, where kube picks at random among equals).
 *
 * | plugin | weight | here |
 * |---|---|---|
 * | TaintToleration | 3 | fewer untolerated `PreferNoSchedule` taints score higher |
 * | NodeAffinity | 2 | sum of the matched preferred terms' weights, scaled to the best node |
 * | PodTopologySpread | 2 | see _spread.ts |
 * | InterPodAffinity | 2 | see _interpod.ts, scaled between the lowest and highest |
 * | NodeResourcesFit | 1 | the share of the node's pod capacity left (kube: of CPU and memory) |
 *
 * Pure functions.
 *
 * @module
 */
import type { NodeSelectorTerm, Pod, Taint, Toleration } from "kubernetes-types/core/v1.js";
import { compileNodeAffinity, tolerates } from "../_placement.ts";

export const WEIGHTS = {
  taints: 3,
  nodeAffinity: 2,
  spread: 2,
  interPod: 2,
  resources: 1,
} as const;

export const MAX_NODE_SCORE = 100;

type Labels = Readonly<Record<string, string>>;

/** kube's DefaultNormalizeScore: scaled so the best is 100 (or reversed: the worst is 0). */
export function normalize(raw: readonly number[], reverse = false): number[] {
  const max = Math.max(0, ...raw);
  if (max === 0) return raw.map(() => (reverse ? MAX_NODE_SCORE : 0));
  return raw.map((s) => {
    const scaled = Math.floor((s * MAX_NODE_SCORE) / max);
    return reverse ? MAX_NODE_SCORE - scaled : scaled;
  });
}

/** InterPodAffinity's normalisation: lowest 0, highest 100, all 0 when equal. */
export function normalizeRange(raw: readonly number[]): number[] {
  const max = Math.max(...raw);
  const min = Math.min(...raw);
  if (!(max > min)) return raw.map(() => 0);
  return raw.map((s) => Math.floor((MAX_NODE_SCORE * (s - min)) / (max - min)));
}

/** The untolerated `PreferNoSchedule` taints of a node (TaintToleration's raw score). */
export function intolerablePreferNoSchedule(
  taints: readonly Taint[],
  tolerations: readonly Toleration[],
): number {
  const relevant = tolerations.filter((t) => !t.effect || t.effect === "PreferNoSchedule");
  return taints.filter((t) => t.effect === "PreferNoSchedule" && !tolerates(relevant, t)).length;
}

/** NodeAffinity's raw score: a function of the node's labels and name, or undefined when none. */
export function compilePreferredNodeAffinity(
  pod: Pod,
): ((labels: Labels, name: string) => number) | undefined {
  const preferred =
    pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
  if (preferred.length === 0) return undefined;
  const terms = preferred.map((p) => ({
    weight: p.weight,
    matches: compileNodeAffinity(termPod(p.preference)),
  }));
  return (labels, name) => {
    let sum = 0;
    for (const t of terms) if (t.weight !== 0 && t.matches(labels, name)) sum += t.weight;
    return sum;
  };
}

/** A pod whose required node affinity is the one term, to reuse the compiled matcher. */
function termPod(term: NodeSelectorTerm): Pod {
  return {
    spec: {
      containers: [],
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [term] },
        },
      },
    },
  };
}

/** The share of pod capacity left, 0–100 (100 when the node gives no capacity). */
export function capacityLeft(pods: number, capacity: number): number {
  if (!Number.isFinite(capacity) || capacity <= 0) return MAX_NODE_SCORE;
  return Math.max(0, Math.floor(((capacity - pods) * MAX_NODE_SCORE) / capacity));
}
