/**
 * What scheduling reads of the pods already on nodes (bound, or assumed by this scheduler), and
 * the pod (anti-)affinity terms it matches them with:
 *
 * - a term selects pods by `labelSelector` (none: no pod; `{}`: every pod) in its namespaces:
 *   `namespaces` plus those `namespaceSelector` selects (`{}`: every namespace), or the pod's own
 *   namespace when both are empty (kube's `framework.AffinityTerm`);
 * - terminating pods still count, as they do for kube-scheduler until they are gone.
 *
 * Pure functions over a {@link PodsView} the wiring keeps current.
 *
 * @module
 */
import type { Pod, PodAffinityTerm, WeightedPodAffinityTerm } from "kubernetes-types/core/v1.js";
import {
  isEverything,
  type LabelSelector,
  matches,
  selectorFromLabelSelector,
} from "../../api/labels.ts";

/** A pod on a node, as the scheduler counts it. */
export interface ScheduledPod {
  pod: Pod;
  node: string;
}

/** The pods on nodes, with the two narrow views that spare a search most of them. */
export interface PodsView {
  /** Every non-terminal pod on a node. */
  all(): Iterable<ScheduledPod>;
  /** Those of them with pod affinity or anti-affinity of their own. */
  withAffinity(): Iterable<ScheduledPod>;
  /** Those whose controller (ownerReference with `controller: true`) has this uid. */
  ownedBy(uid: string): Iterable<ScheduledPod>;
  /** A namespace's labels, for `namespaceSelector` (undefined when unknown). */
  namespaceLabels(namespace: string): Readonly<Record<string, string>> | undefined;
}

export const NO_PODS: PodsView = {
  all: () => [],
  withAffinity: () => [],
  ownedBy: () => [],
  namespaceLabels: () => undefined,
};

/** A PodAffinityTerm compiled once: which pods it selects, and its topology key. */
export interface Term {
  topologyKey: string;
  weight: number;
  selects(pod: Pod): boolean;
}

function safeSelector(spec: PodAffinityTerm["labelSelector"]): LabelSelector | undefined {
  try {
    return selectorFromLabelSelector(spec);
  } catch {
    return undefined; // validation refuses bad selectors; a stored one selects nothing
  }
}

export function compileTerm(owner: Pod, term: PodAffinityTerm, view: PodsView, weight = 1): Term {
  const selector = safeSelector(term.labelSelector);
  const listed = new Set(term.namespaces ?? []);
  const nsSelector = term.namespaceSelector ? safeSelector(term.namespaceSelector) : undefined;
  const allNamespaces = nsSelector !== undefined && isEverything(nsSelector);
  if (listed.size === 0 && !term.namespaceSelector) listed.add(owner.metadata?.namespace ?? "");
  const inNamespace = (ns: string) => {
    if (allNamespaces || listed.has(ns)) return true;
    if (!nsSelector) return false;
    const labels = view.namespaceLabels(ns);
    return labels !== undefined && matches(nsSelector, labels as Record<string, string>);
  };
  return {
    topologyKey: term.topologyKey,
    weight,
    selects: (pod) =>
      selector !== undefined &&
      inNamespace(pod.metadata?.namespace ?? "") &&
      matches(selector, pod.metadata?.labels ?? {}),
  };
}

type AffinityKind = "podAffinity" | "podAntiAffinity";

export function requiredTerms(pod: Pod, kind: AffinityKind, view: PodsView): Term[] {
  const terms = pod.spec?.affinity?.[kind]?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
  return terms.map((t) => compileTerm(pod, t, view));
}

export function preferredTerms(pod: Pod, kind: AffinityKind, view: PodsView): Term[] {
  const terms: WeightedPodAffinityTerm[] =
    pod.spec?.affinity?.[kind]?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
  return terms.map((t) => compileTerm(pod, t.podAffinityTerm, view, t.weight));
}

export function hasPodAffinity(pod: Pod): boolean {
  const a = pod.spec?.affinity;
  return Boolean(a?.podAffinity || a?.podAntiAffinity);
}

/** The uid of the pod's controller, if any. */
export function controllerUid(pod: Pod): string | undefined {
  return pod.metadata?.ownerReferences?.find((o) => o.controller === true)?.uid;
}

/** `key\0value`: a topology domain. */
export const domain = (key: string, value: string) => `${key}\0${value}`;
