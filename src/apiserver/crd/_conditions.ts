/**
 * The status kube's apiextensions controllers give CRDs, as one pure function over all of them:
 * NamesAccepted (the naming controller: names in use by another CRD of the group are refused),
 * Established (once the names were accepted, for good) and Terminating (while the objects of a
 * deleted CRD are removed). Deterministic: CRDs are considered oldest first, so of two CRDs
 * asking for the same names the older one gets them.
 *
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import {
  type CrdCondition,
  type CrdNames,
  type CrdStatus,
  conditionOf,
  specOf,
  statusOf,
} from "./_types.ts";

export const TERMINATING_PENDING: Omit<CrdCondition, "lastTransitionTime"> = {
  type: "Terminating",
  status: "True",
  reason: "InstanceDeletionPending",
  message: "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon",
};
export const TERMINATING_IN_PROGRESS: Omit<CrdCondition, "lastTransitionTime"> = {
  type: "Terminating",
  status: "True",
  reason: "InstanceDeletionInProgress",
  message: "CustomResource deletion is in progress",
};

function order(a: KubeObject, b: KubeObject): number {
  const ta = a.metadata.creationTimestamp ?? "";
  const tb = b.metadata.creationTimestamp ?? "";
  if (ta !== tb) return ta < tb ? -1 : 1;
  return (a.metadata.name ?? "") < (b.metadata.name ?? "") ? -1 : 1;
}

interface Taken {
  names: Map<string, string>; // plural/singular/short name → CRD name
  kinds: Map<string, string>; // kind/listKind → CRD name
}

function resourceNames(n: Partial<CrdNames>): string[] {
  return [n.plural, n.singular, ...(n.shortNames ?? [])].filter((x): x is string => !!x);
}

function kindNames(n: Partial<CrdNames>): string[] {
  return [n.kind, n.listKind].filter((x): x is string => !!x);
}

function take(taken: Taken, owner: string, n: Partial<CrdNames>): void {
  for (const x of resourceNames(n)) if (!taken.names.has(x)) taken.names.set(x, owner);
  for (const x of kindNames(n)) if (!taken.kinds.has(x)) taken.kinds.set(x, owner);
}

/** The conflict that keeps `names` from `owner`, as the naming controller words it. */
function conflictOf(taken: Taken, owner: string, names: Partial<CrdNames>) {
  for (const x of resourceNames(names)) {
    const by = taken.names.get(x);
    if (by && by !== owner) return { reason: "NameConflict", message: `"${x}" is already in use` };
  }
  for (const x of kindNames(names)) {
    const by = taken.kinds.get(x);
    if (by && by !== owner) return { reason: "KindConflict", message: `"${x}" is already in use` };
  }
  return undefined;
}

function setCondition(
  conditions: CrdCondition[],
  next: Omit<CrdCondition, "lastTransitionTime">,
  now: string,
): CrdCondition[] {
  const old = conditions.find((c) => c.type === next.type);
  const kept = old && old.status === next.status ? old.lastTransitionTime : now;
  const merged: CrdCondition = {
    type: next.type,
    status: next.status,
    lastTransitionTime: kept ?? now,
    ...(next.reason ? { reason: next.reason } : {}),
    ...(next.message ? { message: next.message } : {}),
  };
  return old ? conditions.map((c) => (c === old ? merged : c)) : [...conditions, merged];
}

/**
 * The status each CRD should have, by name; only CRDs whose status must change are in the map.
 * `now` is an RFC 3339 timestamp for new transitions.
 */
export function desiredStatuses(crds: readonly KubeObject[], now: string): Map<string, CrdStatus> {
  const byGroup = new Map<string, Taken>();
  const takenFor = (group: string) => {
    let t = byGroup.get(group);
    if (!t) {
      t = { names: new Map(), kinds: new Map() };
      byGroup.set(group, t);
    }
    return t;
  };
  const sorted = [...crds].sort(order);
  // Names already accepted stay with their CRD.
  for (const crd of sorted) {
    if (conditionOf(crd, "NamesAccepted")?.status === "True") {
      take(takenFor(specOf(crd).group), crd.metadata.name ?? "", statusOf(crd).acceptedNames ?? {});
    }
  }
  const out = new Map<string, CrdStatus>();
  for (const crd of sorted) {
    const name = crd.metadata.name ?? "";
    const spec = specOf(crd);
    const status = statusOf(crd);
    const taken = takenFor(spec.group);
    let conditions = [...(status.conditions ?? [])];
    let acceptedNames = status.acceptedNames;
    const conflict = conflictOf(taken, name, spec.names);
    if (conflict) {
      conditions = setCondition(
        conditions,
        { type: "NamesAccepted", status: "False", ...conflict },
        now,
      );
    } else {
      acceptedNames = { ...spec.names };
      take(taken, name, acceptedNames);
      conditions = setCondition(
        conditions,
        {
          type: "NamesAccepted",
          status: "True",
          reason: "NoConflicts",
          message: "no conflicts found",
        },
        now,
      );
    }
    const established = conditionOf(crd, "Established")?.status === "True";
    if (!established) {
      conditions = setCondition(
        conditions,
        conflict
          ? {
              type: "Established",
              status: "False",
              reason: "NotAccepted",
              message: "not all names are accepted",
            }
          : {
              type: "Established",
              status: "True",
              reason: "InitialNamesAccepted",
              message: "the initial names have been accepted",
            },
        now,
      );
    }
    if (crd.metadata.deletionTimestamp) {
      const terminating = conditionOf(crd, "Terminating");
      if (terminating?.reason !== TERMINATING_IN_PROGRESS.reason)
        conditions = setCondition(conditions, TERMINATING_IN_PROGRESS, now);
    }
    const next: CrdStatus = {
      ...status,
      conditions,
      acceptedNames: acceptedNames ?? { plural: "", kind: "" },
    };
    if (JSON.stringify(next) !== JSON.stringify(status)) out.set(name, next);
  }
  return out;
}
