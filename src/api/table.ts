/**
 * `meta.k8s.io/v1` Table responses, as kube-apiserver builds them for
 * `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`: the kind's column definitions, one row
 * per object with the strategy's cells, and each row's `object` as a PartialObjectMetadata
 * (default and `includeObject=Metadata`), the full object (`Object`) or null (`None`).
 * Server-side tables always carry every column; kubectl hides priority-1 columns unless `-o wide`.
 *
 * @module
 */
import type { KindStrategy, TableColumn, TableRowCondition } from "./kinds/types.ts";
import { apiVersionOf, type KubeObject, type ObjectMeta } from "./types.ts";

export type IncludeObject = "None" | "Metadata" | "Object";

export interface TableRow {
  cells: unknown[];
  conditions?: TableRowCondition[];
  object: KubeObject | null;
}

export interface Table {
  kind: "Table";
  apiVersion: "meta.k8s.io/v1";
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  columnDefinitions: TableColumn[] | null;
  rows: TableRow[];
}

export interface BuildTableOptions {
  /** What each row's `object` carries; `Metadata` when absent, as kube defaults it. */
  includeObject?: IncludeObject | undefined;
  /** The list's resourceVersion (empty for a single object, as kube leaves it). */
  resourceVersion?: string | undefined;
  continue?: string | undefined;
  remainingItemCount?: number | undefined;
  /** Leave out `columnDefinitions` (TableOptions.noHeaders, used for watch events after the first). */
  noHeaders?: boolean | undefined;
}

/** A PartialObjectMetadata for a row, with the table's own group version. */
export function partialObjectMetadata(obj: KubeObject): KubeObject {
  return {
    kind: "PartialObjectMetadata",
    apiVersion: "meta.k8s.io/v1",
    metadata: structuredClone(obj.metadata ?? ({} as ObjectMeta)),
  };
}

function rowObject(
  strategy: KindStrategy,
  obj: KubeObject,
  include: IncludeObject,
): KubeObject | null {
  if (include === "None") return null;
  if (include === "Object") {
    return {
      ...obj,
      kind: strategy.kind,
      apiVersion: apiVersionOf(strategy.group, strategy.version),
    };
  }
  return partialObjectMetadata(obj);
}

/** One row; exported for watch events, which carry a one-row Table each. */
export function buildRow(
  strategy: KindStrategy,
  obj: KubeObject,
  opts: { now: number; includeObject?: IncludeObject | undefined },
): TableRow {
  const row: TableRow = {
    cells: strategy.row(obj, opts.now),
    object: rowObject(strategy, obj, opts.includeObject ?? "Metadata"),
  };
  const conditions = strategy.rowConditions?.(obj);
  if (conditions && conditions.length > 0) row.conditions = conditions;
  return row;
}

export function buildTable(
  strategy: KindStrategy,
  objects: KubeObject[],
  now: number,
  opts: BuildTableOptions = {},
): Table {
  const metadata: Table["metadata"] = {};
  if (opts.resourceVersion !== undefined) metadata.resourceVersion = opts.resourceVersion;
  if (opts.continue) metadata.continue = opts.continue;
  if (opts.remainingItemCount !== undefined) metadata.remainingItemCount = opts.remainingItemCount;
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata,
    columnDefinitions: opts.noHeaders ? null : strategy.columns.map((c) => ({ ...c })),
    rows: objects.map((o) => buildRow(strategy, o, { now, includeObject: opts.includeObject })),
  };
}

/** Parses `includeObject` from a query string value; undefined for anything else. */
export function parseIncludeObject(value: string | null | undefined): IncludeObject | undefined {
  return value === "None" || value === "Metadata" || value === "Object" ? value : undefined;
}
