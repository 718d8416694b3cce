/**
 * The disruption controller's reconcile of one PodDisruptionBudget, as kube-controller-manager's
 * (`pkg/controller/disruption`): from the pods the budget selects (in its namespace; an empty
 * selector selects all, none selects nothing) and the scale of their controllers it computes
 * - `expectedPods`: the pods' count for an integer `minAvailable`, else the summed
 *   `spec.replicas` of their controllers (Deployment for a ReplicaSet it owns, ReplicaSet,
 *   StatefulSet, ReplicationController); pods without a controller are left out;
 * - `desiredHealthy`: `minAvailable` (a percentage of expected, rounded up), or expected minus
 *   `maxUnavailable` (a percentage rounded up), never below zero;
 * - `currentHealthy`: Ready pods not being deleted and not in `disruptedPods`;
 * - `disruptionsAllowed`: currentHealthy − desiredHealthy, zero when negative or nothing expected;
 * - the `DisruptionAllowed` condition (SufficientPods / InsufficientPods; SyncFailed with the
 *   error and no disruptions when a controller cannot be found), `observedGeneration`;
 * - `disruptedPods` (written by the eviction subresource) without pods that are gone, being
 *   deleted or older than two minutes; the budget comes back when the next entry expires.
 * Writes status only when it changed; a budget selecting no pods gets kube's `NoPods` Event.
 *
 * @module
 */

import type { Pod } from "kubernetes-types/core/v1.js";
import type { PodDisruptionBudget } from "kubernetes-types/policy/v1.js";
import { matches, selectorFromLabelSelector } from "../../api/labels.ts";
import { splitKey } from "../../api/types.ts";

/** How long an eviction's entry in `disruptedPods` is trusted (kube's DeletionTimeout). */
export const DELETION_TIMEOUT_MS = 2 * 60 * 1000;

export interface ControllerScale {
  uid: string;
  replicas: number;
}

export interface DisruptionDeps {
  getBudget(namespace: string, name: string): PodDisruptionBudget | undefined;
  podsIn(namespace: string): Pod[];
  /** The scale of a pod's controller; undefined when the pod has none; throws when unknown. */
  scaleOf(pod: Pod): ControllerScale | undefined;
  writeStatus(pdb: PodDisruptionBudget): Promise<void>;
  /** Records an Event on the budget. */
  event(
    pdb: PodDisruptionBudget,
    type: "Normal" | "Warning",
    reason: string,
    message: string,
  ): void;
  now: () => number;
}

type IntOrString = number | string | undefined;

/** GetScaledValueFromIntOrPercent with rounding up. */
export function scaledUp(value: IntOrString, total: number): number {
  if (typeof value === "number") return value;
  const m = /^(\d+)%$/.exec(value ?? "");
  if (!m) throw new Error(`invalid value for IntOrString: invalid value "${value}"`);
  return Math.ceil((Number(m[1]) * total) / 100);
}

function isReady(pod: Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

function expectedScale(pods: Pod[], scaleOf: DisruptionDeps["scaleOf"]): number {
  const seen = new Map<string, number>();
  for (const pod of pods) {
    const scale = scaleOf(pod);
    if (scale) seen.set(scale.uid, scale.replicas);
  }
  let sum = 0;
  for (const r of seen.values()) sum += r;
  return sum;
}

/** getExpectedPodCount: expected pods and desired healthy. */
export function expectedCounts(
  pdb: PodDisruptionBudget,
  pods: Pod[],
  scaleOf: DisruptionDeps["scaleOf"],
): { expected: number; desired: number } {
  const spec = pdb.spec ?? {};
  if (spec.maxUnavailable !== undefined && spec.maxUnavailable !== null) {
    const expected = expectedScale(pods, scaleOf);
    const maxUnavailable = scaledUp(spec.maxUnavailable, expected);
    return { expected, desired: Math.max(0, expected - maxUnavailable) };
  }
  if (spec.minAvailable !== undefined && spec.minAvailable !== null) {
    if (typeof spec.minAvailable === "number")
      return { expected: pods.length, desired: spec.minAvailable };
    const expected = expectedScale(pods, scaleOf);
    return { expected, desired: scaledUp(spec.minAvailable, expected) };
  }
  return { expected: 0, desired: 0 };
}

function selected(pdb: PodDisruptionBudget, pods: Pod[]): Pod[] {
  let selector: ReturnType<typeof selectorFromLabelSelector>;
  try {
    selector = selectorFromLabelSelector(pdb.spec?.selector);
  } catch {
    return [];
  }
  return pods.filter((p) => matches(selector, p.metadata?.labels));
}

/** The budget's `disruptedPods` still in force, and when the first of them expires. */
export function liveDisruptions(
  recorded: Record<string, string> | undefined,
  pods: Pod[],
  now: number,
): { live: Record<string, string>; recheckAt?: number } {
  const byName = new Map(pods.map((p) => [p.metadata?.name ?? "", p]));
  const live: Record<string, string> = {};
  let recheckAt: number | undefined;
  for (const [name, at] of Object.entries(recorded ?? {})) {
    const pod = byName.get(name);
    if (!pod || pod.metadata?.deletionTimestamp) continue;
    const expires = Date.parse(at) + DELETION_TIMEOUT_MS;
    if (!(expires > now)) continue;
    live[name] = at;
    recheckAt = recheckAt === undefined ? expires : Math.min(recheckAt, expires);
  }
  return recheckAt === undefined ? { live } : { live, recheckAt };
}

type Condition = NonNullable<NonNullable<PodDisruptionBudget["status"]>["conditions"]>[number];

function condition(
  old: Condition[] | undefined,
  next: Omit<Condition, "lastTransitionTime">,
  now: number,
): Condition[] {
  const previous = old?.find((c) => c.type === next.type);
  const lastTransitionTime =
    previous && previous.status === next.status
      ? previous.lastTransitionTime
      : `${new Date(now).toISOString().slice(0, 19)}Z`;
  return [...(old ?? []).filter((c) => c.type !== next.type), { ...next, lastTransitionTime }];
}

/** The status the budget should have. */
export function budgetStatus(
  pdb: PodDisruptionBudget,
  allPods: Pod[],
  scaleOf: DisruptionDeps["scaleOf"],
  now: number,
): { status: NonNullable<PodDisruptionBudget["status"]>; recheckAt?: number } {
  const pods = selected(pdb, allPods);
  const generation = pdb.metadata?.generation ?? 0;
  const { live, recheckAt } = liveDisruptions(pdb.status?.disruptedPods, pods, now);
  const base = {
    observedGeneration: generation,
    ...(Object.keys(live).length > 0 ? { disruptedPods: live } : {}),
  };
  let counts: { expected: number; desired: number };
  try {
    counts = expectedCounts(pdb, pods, scaleOf);
  } catch (e) {
    return {
      status: {
        ...base,
        disruptionsAllowed: 0,
        currentHealthy: pdb.status?.currentHealthy ?? 0,
        desiredHealthy: pdb.status?.desiredHealthy ?? 0,
        expectedPods: pdb.status?.expectedPods ?? 0,
        conditions: condition(
          pdb.status?.conditions,
          {
            type: "DisruptionAllowed",
            status: "False",
            reason: "SyncFailed",
            message: e instanceof Error ? e.message : String(e),
            observedGeneration: generation,
          },
          now,
        ),
      },
      ...(recheckAt !== undefined ? { recheckAt } : {}),
    };
  }
  const healthy = pods.filter(
    (p) => !p.metadata?.deletionTimestamp && !live[p.metadata?.name ?? ""] && isReady(p),
  ).length;
  let allowed = healthy - counts.desired;
  if (counts.expected <= 0 || allowed <= 0) allowed = 0;
  return {
    status: {
      ...base,
      disruptionsAllowed: allowed,
      currentHealthy: healthy,
      desiredHealthy: counts.desired,
      expectedPods: counts.expected,
      conditions: condition(
        pdb.status?.conditions,
        {
          type: "DisruptionAllowed",
          status: allowed > 0 ? "True" : "False",
          reason: allowed > 0 ? "SufficientPods" : "InsufficientPods",
          message: "",
          observedGeneration: generation,
        },
        now,
      ),
    },
    ...(recheckAt !== undefined ? { recheckAt } : {}),
  };
}

/** JSON with keys sorted, so two statuses compare whatever order their keys came in. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === "object" && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b)))
      : x,
  );
}

export async function reconcileBudget(
  key: string,
  deps: DisruptionDeps,
): Promise<{ requeueAfter?: number }> {
  const { namespace, name } = splitKey(key);
  const pdb = deps.getBudget(namespace, name);
  if (!pdb) return {};
  const now = deps.now();
  const pods = deps.podsIn(namespace);
  const { status, recheckAt } = budgetStatus(pdb, pods, deps.scaleOf, now);
  if (selected(pdb, pods).length === 0)
    deps.event(pdb, "Normal", "NoPods", "No matching pods found");
  if (canonical(status) !== canonical(pdb.status ?? {})) await deps.writeStatus({ ...pdb, status });
  return recheckAt !== undefined ? { requeueAfter: Math.max(0, recheckAt - now) } : {};
}
