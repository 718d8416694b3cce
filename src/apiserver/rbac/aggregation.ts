/**
 * The ClusterRole aggregation controller (kube-controller-manager's `clusterrole-aggregation`):
 * a ClusterRole with an `aggregationRule` holds the union of the rules of every other ClusterRole
 * its selectors match, in the order of those roles' names, without duplicates. It runs beside the
 * API server over the store: at start and after every ClusterRole write (coalesced to one pass per
 * turn of the event loop), writing through the registry only roles whose rules differ, so `admin`,
 * `edit` and `view` follow the `aggregate-to-*` roles a user or a CRD bundle adds.
 *
 * @module
 */
import { matches, selectorFromLabelSelector } from "../../api/labels.ts";
import type { KubeObject } from "../../api/types.ts";
import type { Store, StoreWatch } from "../../store/types.ts";
import type { Registry } from "../registry/index.ts";

const PREFIX = "/rbac.authorization.k8s.io/clusterroles/";
const REF = { group: "rbac.authorization.k8s.io", version: "v1", resource: "clusterroles" };

function selectors(role: KubeObject): unknown[] {
  const rule = role.aggregationRule as { clusterRoleSelectors?: unknown } | undefined | null;
  return rule && Array.isArray(rule.clusterRoleSelectors) ? rule.clusterRoleSelectors : [];
}

/** The rules an aggregated role should hold, given every ClusterRole. Pure. */
export function aggregatedRules(role: KubeObject, all: readonly KubeObject[]): unknown[] {
  const chosen = new Map<string, KubeObject>();
  for (const sel of selectors(role)) {
    const selector = selectorFromLabelSelector(
      sel as Parameters<typeof selectorFromLabelSelector>[0],
    );
    for (const other of all) {
      const name = other.metadata.name ?? "";
      if (name === role.metadata.name) continue;
      if (matches(selector, other.metadata.labels ?? {})) chosen.set(name, other);
    }
  }
  const rules: unknown[] = [];
  const seen = new Set<string>();
  for (const name of [...chosen.keys()].sort()) {
    const own = chosen.get(name)?.rules;
    for (const rule of Array.isArray(own) ? own : []) {
      const key = JSON.stringify(rule);
      if (seen.has(key)) continue;
      seen.add(key);
      rules.push(rule);
    }
  }
  return rules;
}

/** Starts aggregating; returns the stop function. */
export function startAggregation(store: Store, registry: Registry): () => void {
  let pending = false;
  let stopped = false;
  let watch: StoreWatch | undefined;
  const pass = () => {
    pending = false;
    if (stopped) return;
    const all = store.list(PREFIX).items;
    for (const role of all) {
      if (selectors(role).length === 0) continue;
      const rules = aggregatedRules(role, all);
      if (JSON.stringify(rules) === JSON.stringify(role.rules ?? [])) continue;
      try {
        registry.updateSync(REF, "", { ...role, rules });
      } catch {
        // A conflict or a deleted role: the write that caused it schedules another pass.
      }
    }
  };
  const schedule = () => {
    if (pending) return;
    pending = true;
    setImmediate(pass);
  };
  const open = () => {
    watch = store.watch(PREFIX, {
      fromRevision: store.revision(),
      onEvent: schedule,
      onClose: () => {
        if (stopped) return;
        open();
        schedule();
      },
    });
  };
  open();
  pass();
  return () => {
    stopped = true;
    watch?.stop();
    watch = undefined;
  };
}
