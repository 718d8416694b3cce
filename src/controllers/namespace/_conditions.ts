/**
 * The deletion conditions kube's namespace controller writes on a Terminating namespace
 * (`pkg/controller/namespace/deletion/status_condition_utils.go`), from what the last pass found:
 * which resources still have objects, and which finalizers those objects still carry.
 * Discovery and group-version parsing never fail here (the resource list is fixed), and a delete
 * that failed is reported as a content failure.
 *
 * @module
 */
import type { NamespaceCondition } from "kubernetes-types/core/v1.js";

export interface DeletionReport {
  /** Resource (`pods`, `deployments.apps`) → objects still present. */
  remaining: Map<string, number>;
  /** Finalizer → objects still carrying it. */
  finalizers: Map<string, number>;
  /** Messages of deletes that failed. */
  failures: string[];
}

function cond(
  type: string,
  on: boolean,
  yes: [string, string],
  no: [string, string],
  time: string,
): NamespaceCondition {
  const [reason, message] = on ? yes : no;
  return { type, status: on ? "True" : "False", reason, message, lastTransitionTime: time };
}

function list(m: Map<string, number>, verb: "has" | "in"): string {
  return [...m]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k} ${verb} ${n} resource instances`)
    .join(", ");
}

export function deletionConditions(report: DeletionReport, time: string): NamespaceCondition[] {
  return [
    cond(
      "NamespaceDeletionDiscoveryFailure",
      false,
      ["DiscoveryFailed", ""],
      ["ResourcesDiscovered", "All resources successfully discovered"],
      time,
    ),
    cond(
      "NamespaceDeletionGroupVersionParsingFailure",
      false,
      ["GroupVersionParsingFailed", ""],
      ["ParsedGroupVersions", "All legacy kube types successfully parsed"],
      time,
    ),
    cond(
      "NamespaceDeletionContentFailure",
      report.failures.length > 0,
      [
        "ContentDeletionFailed",
        `Failed to delete all resource types, ${report.failures.length} remaining: ${report.failures.join(", ")}`,
      ],
      ["ContentDeleted", "All content successfully deleted, may be waiting on finalization"],
      time,
    ),
    cond(
      "NamespaceContentRemaining",
      report.remaining.size > 0,
      ["SomeResourcesRemain", `Some resources are remaining: ${list(report.remaining, "has")}`],
      ["ContentRemoved", "All content successfully removed"],
      time,
    ),
    cond(
      "NamespaceFinalizersRemaining",
      report.finalizers.size > 0,
      [
        "SomeFinalizersRemain",
        `Some content in the namespace has finalizers remaining: ${list(report.finalizers, "in")}`,
      ],
      ["ContentHasNoFinalizers", "All content-preserving finalizers finished"],
      time,
    ),
  ];
}

/** The conditions to store: unchanged ones keep their lastTransitionTime. */
export function mergeConditions(
  current: readonly NamespaceCondition[],
  next: readonly NamespaceCondition[],
): { conditions: NamespaceCondition[]; changed: boolean } {
  let changed = false;
  const out = current.filter((c) => !next.some((n) => n.type === c.type));
  for (const n of next) {
    const c = current.find((x) => x.type === n.type);
    if (c && c.status === n.status && c.reason === n.reason && c.message === n.message) {
      out.push(c);
    } else {
      changed = true;
      out.push(n);
    }
  }
  return { conditions: out, changed };
}
