/**
 * The per-kind strategy the API server looks up for each resource: defaulting, validation,
 * Table columns and selectable fields, as kube-apiserver's `rest.RESTCreateStrategy`,
 * `RESTUpdateStrategy` and printers do them. Strategies are pure: they never allocate,
 * never read the store and never look at the clock except through the `now` they are given.
 *
 * @module
 */
import type { FieldError } from "../errors.ts";
import type { KubeObject } from "../types.ts";

export interface TableColumn {
  name: string;
  type: "string" | "integer" | "number" | "boolean" | "date";
  format: string;
  description: string;
  priority: number;
}

/** A `meta.k8s.io/v1` TableRowCondition (pods set `Completed` on terminal phases). */
export interface TableRowCondition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason?: string;
  message?: string;
}

export interface KindStrategy {
  group: string;
  version: string;
  kind: string;
  resource: string; // e.g. "apps","v1","Deployment","deployments"
  namespaced: boolean;
  /** Kinds whose spec changes bump metadata.generation (false: ConfigMap, Secret, Namespace's has no generation bump, …). */
  hasGeneration: boolean;
  /** Has a /status subresource: writes to the main resource keep the old status; status writes keep everything but status. */
  hasStatus: boolean;
  /** Fills defaults in place, as the Kubernetes defaulters do (run on create, update and patch results). */
  applyDefaults(obj: KubeObject): void;
  /** Validates a new object after defaulting (metadata included). */
  validate(obj: KubeObject): FieldError[];
  /** Validates an update (immutable fields, plus everything validate checks). */
  validateUpdate(obj: KubeObject, old: KubeObject): FieldError[];
  /** kube-apiserver's default Table columns for `kubectl get` (priority 1 = only with -o wide). */
  columns: TableColumn[];
  /** One row's cells, in column order; `now` in ms since epoch (for AGE). */
  row(obj: KubeObject, now: number): unknown[];
  /** Fields selectable with fieldSelector beyond metadata.name / metadata.namespace (e.g. pods: spec.nodeName, status.phase; events: involvedObject.*). */
  selectableFields?(obj: KubeObject): Record<string, string>;

  // ---- optional members beyond the agreed contract ----

  /** Lower-case singular name for discovery (`deployment`). */
  singular?: string;
  /** Short names kubectl accepts (`deploy`). */
  shortNames?: string[];
  /** Discovery categories (`all`). */
  categories?: string[];
  /**
   * What the kind's strategy does in `PrepareForCreate` beyond defaulting, before validation:
   * Namespace adds the `kubernetes` finalizer and `Active` phase, Pod resets status to `Pending`
   * with its QoS class. Never allocates (no IPs, no node ports).
   */
  prepareForCreate?(obj: KubeObject): void;
  /**
   * What `PrepareForUpdate` does for writes to the main resource beyond keeping status: Namespace
   * keeps `spec.finalizers` (changed only through /finalize), Service keeps the allocated
   * `clusterIP`/`clusterIPs`/node ports when the update leaves them empty.
   */
  prepareForUpdate?(obj: KubeObject, old: KubeObject): void;
  /**
   * Pods: validates a write through `pods/ephemeralcontainers` (the spec as a whole, and the
   * ephemeral containers only added); kinds without it do not serve that subresource.
   */
  validateEphemeralContainersUpdate?(obj: KubeObject, old: KubeObject): FieldError[];
  /**
   * For kinds with `hasGeneration`: whether an update changes what metadata.generation tracks.
   * Absent means "`spec` differs". Deployments also count annotation changes; EndpointSlices,
   * which have no spec, count every change outside metadata plus label changes.
   */
  generationChanged?(obj: KubeObject, old: KubeObject): boolean;
  /** Table row conditions (pods: `Completed` for Succeeded/Failed), `meta.k8s.io/v1` shape. */
  rowConditions?(obj: KubeObject): TableRowCondition[] | undefined;
  /**
   * An object as read from the store (custom resources: their schema's defaults filled, as kube
   * defaults on every read from etcd): the object itself when nothing changes, else a copy.
   */
  fromStore?(obj: KubeObject): KubeObject;
}
