/**
 * Inter-pod affinity and anti-affinity, as kube-scheduler's InterPodAffinity plugin places pods:
 *
 * Filter (required terms), one verdict per node, in kube's order and words:
 * - the pod's `podAffinity` terms: the node must carry every term's topology key, and in the
 *   node's domain of each key some pod must match all the terms ("node(s) didn't match pod
 *   affinity rules"); the first pod of a group that matches its own terms may go where no pod
 *   matches yet;
 * - the pod's `podAntiAffinity` terms: no pod matching a term in the node's domain of that term's
 *   key ("node(s) didn't match pod anti-affinity rules");
 * - other pods' `podAntiAffinity` terms that match this pod: not into their domains ("node(s)
 *   didn't satisfy existing pods anti-affinity rules").
 *
 * Score (preferred terms): in each domain, + weight for each pod a preferred affinity term of
 * this pod matches, − weight for anti-affinity, and the same for other pods' preferred terms that
 * match this pod, plus 1 (kube's hardPodAffinityWeight) for their required affinity terms; the
 * node sums its domains' values, and scores are scaled to 0–100 between the lowest and highest.
 *
 * Built once per scheduling attempt from the {@link PodsView}; each node then costs a few map
 * lookups.
 *
 * @module
 */
import type { Pod } from "kubernetes-types/core/v1.js";
import {
  domain,
  hasPodAffinity,
  type PodsView,
  preferredTerms,
  requiredTerms,
  type Term,
} from "./_pods.ts";

export const INTERPOD_REASON = {
  affinity: "node(s) didn't match pod affinity rules",
  antiAffinity: "node(s) didn't match pod anti-affinity rules",
  existingAntiAffinity: "node(s) didn't satisfy existing pods anti-affinity rules",
} as const;

type Labels = Readonly<Record<string, string>>;

export interface InterPod {
  /** Why the node (its labels) is refused, or undefined. */
  filter(labels: Labels): string | undefined;
  /** The node's raw preference (before scaling); undefined when nothing prefers anything. */
  score?: (labels: Labels) => number;
}

const bump = (counts: Map<string, number>, key: string, by: number) =>
  counts.set(key, (counts.get(key) ?? 0) + by);

interface PodTerms {
  affinity: Term[];
  anti: Term[];
  preferred: Term[];
  preferredAnti: Term[];
}

/** Each placed pod's terms, compiled once per pod object (and view), not once per search. */
const compiled = new WeakMap<PodsView, WeakMap<Pod, PodTerms>>();

function termsOf(pod: Pod, view: PodsView): PodTerms {
  let byPod = compiled.get(view);
  if (!byPod) {
    byPod = new WeakMap();
    compiled.set(view, byPod);
  }
  let terms = byPod.get(pod);
  if (!terms) {
    terms = {
      affinity: requiredTerms(pod, "podAffinity", view),
      anti: requiredTerms(pod, "podAntiAffinity", view),
      preferred: preferredTerms(pod, "podAffinity", view),
      preferredAnti: preferredTerms(pod, "podAntiAffinity", view),
    };
    byPod.set(pod, terms);
  }
  return terms;
}

/**
 * The pod's inter-pod check against the pods on nodes; `nodeLabels` gives a pod's node's labels.
 * Undefined when neither the pod nor any pod on a node has pod (anti-)affinity.
 */
export function compileInterPod(
  pod: Pod,
  view: PodsView,
  nodeLabels: (node: string) => Labels | undefined,
): InterPod | undefined {
  const { affinity, anti, preferred, preferredAnti } = termsOf(pod, view);
  const affinityCounts = new Map<string, number>();
  const antiCounts = new Map<string, number>();
  const existingAnti = new Map<string, number>();
  const scores = new Map<string, number>();
  let any = hasPodAffinity(pod);

  const inDomain = (
    terms: readonly Term[],
    target: Pod,
    labels: Labels,
    counts: Map<string, number>,
    by: number,
  ) => {
    for (const t of terms) {
      if (!t.selects(target)) continue;
      const value = labels[t.topologyKey];
      if (value !== undefined) bump(counts, domain(t.topologyKey, value), by * t.weight);
    }
  };

  if (any) {
    for (const { pod: other, node } of view.all()) {
      const labels = nodeLabels(node);
      if (!labels) continue;
      if (affinity.length > 0 && affinity.every((t) => t.selects(other)))
        inDomain(affinity, other, labels, affinityCounts, 1);
      inDomain(anti, other, labels, antiCounts, 1);
      inDomain(preferred, other, labels, scores, 1);
      inDomain(preferredAnti, other, labels, scores, -1);
    }
  }
  for (const { pod: other, node } of view.withAffinity()) {
    const labels = nodeLabels(node);
    if (!labels) continue;
    any = true;
    const terms = termsOf(other, view);
    inDomain(terms.anti, pod, labels, existingAnti, 1);
    inDomain(terms.affinity, pod, labels, scores, 1);
    inDomain(terms.preferred, pod, labels, scores, 1);
    inDomain(terms.preferredAnti, pod, labels, scores, -1);
  }
  if (!any) return undefined;

  const firstOfGroup = affinityCounts.size === 0 && affinity.every((t) => t.selects(pod));
  const filter = (labels: Labels): string | undefined => {
    let found = true;
    for (const t of affinity) {
      const value = labels[t.topologyKey];
      if (value === undefined) return INTERPOD_REASON.affinity;
      if ((affinityCounts.get(domain(t.topologyKey, value)) ?? 0) <= 0) found = false;
    }
    if (!found && !firstOfGroup) return INTERPOD_REASON.affinity;
    for (const t of anti) {
      const value = labels[t.topologyKey];
      if (value !== undefined && (antiCounts.get(domain(t.topologyKey, value)) ?? 0) > 0)
        return INTERPOD_REASON.antiAffinity;
    }
    if (existingAnti.size > 0) {
      for (const [key, value] of Object.entries(labels))
        if ((existingAnti.get(domain(key, value)) ?? 0) > 0)
          return INTERPOD_REASON.existingAntiAffinity;
    }
    return undefined;
  };
  if (scores.size === 0) return { filter };
  const keys = new Set([...scores.keys()].map((k) => k.slice(0, k.indexOf("\0"))));
  return {
    filter,
    score: (labels) => {
      let sum = 0;
      for (const key of keys) {
        const value = labels[key];
        if (value !== undefined) sum += scores.get(domain(key, value)) ?? 0;
      }
      return sum;
    },
  };
}
