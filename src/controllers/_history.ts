/**
 * ControllerRevisions, the template history the StatefulSet and DaemonSet controllers keep (kube's
 * `pkg/controller/history` and the two controllers' use of it):
 *
 * - a revision's `data` is the strategic-merge patch `{"spec":{"template":{…,"$patch":"replace"}}}`
 *   with keys sorted (Go marshals maps sorted) and the fields Go's typed marshalling always writes
 *   (`metadata.creationTimestamp: null`, each container's `resources: {}`), so that kubectl, which
 *   builds the same patch from the owner it reads, finds the revision equal byte for byte
 *   (`rollout undo --to-revision` of the current template is skipped as on kube); `kubectl rollout
 *   undo` sends it back as is, and {@link applyRevision} is its effect on the owner;
 * - two revisions are equal when their data is, up to those always-written fields (revisions
 *   stored without them stay equal to their template);
 * - {@link resolveRevisions} finds or makes the revision of the owner's template: the newest equal
 *   one is reused; an older equal one (a rollback) is renumbered to be the newest; otherwise a new
 *   one is created, with the collision count raised while its name is taken by different data.
 *   How a revision is named and labelled is the caller's (`make`): each controller names its own.
 *
 * @module
 */
import type { ControllerRevision } from "kubernetes-types/apps/v1.js";

/** An object whose `spec.template` the history records. */
export interface Templated {
  spec?: { template?: unknown } | undefined;
}

/** JSON with object keys sorted at every level, as Go's encoding/json writes a map. */
export function sortedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => sortedJson(v ?? null)).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${sortedJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json =>
  v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * A pod template as Go's encoding/json writes the typed object: `metadata.creationTimestamp` (a
 * struct, so never omitted) as `null`, and every container's `resources` (a struct) as `{}` when
 * unset. Changes `template` in place.
 */
function withGoZeroFields(template: Json): Json {
  const metadata = isObject(template.metadata) ? template.metadata : {};
  if (metadata.creationTimestamp === undefined) metadata.creationTimestamp = null;
  template.metadata = metadata;
  const spec = template.spec;
  if (isObject(spec)) {
    for (const list of [spec.initContainers, spec.containers]) {
      if (!Array.isArray(list)) continue;
      for (const container of list)
        if (isObject(container) && container.resources === undefined) container.resources = {};
    }
  }
  return template;
}

/** The revision data for the owner's current template. */
export function revisionData(owner: Templated): Record<string, unknown> {
  const template = withGoZeroFields(structuredClone(owner.spec?.template ?? {}) as Json);
  template.$patch = "replace";
  return JSON.parse(sortedJson({ spec: { template } }));
}

/** A revision's data with the always-written fields in place (older revisions lack them). */
function comparable(data: unknown): string {
  const template = isObject(data) && isObject(data.spec) ? data.spec.template : undefined;
  if (!isObject(template)) return sortedJson(data ?? null);
  const copy = structuredClone(data) as { spec: { template: Json } };
  withGoZeroFields(copy.spec.template);
  return sortedJson(copy);
}

export function equalRevisions(a: ControllerRevision, b: ControllerRevision): boolean {
  return comparable(a.data) === comparable(b.data);
}

/** Ascending by `revision`, then by name (kube's SortControllerRevisions). */
export function sortRevisions(revisions: readonly ControllerRevision[]): ControllerRevision[] {
  return [...revisions].sort(
    (a, b) =>
      a.revision - b.revision ||
      (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? "", "en"),
  );
}

export function nextRevisionNumber(sorted: readonly ControllerRevision[]): number {
  return (sorted.at(-1)?.revision ?? 0) + 1;
}

/** The owner with the template a revision recorded (kube's ApplyRevision for our patch shape). */
export function applyRevision<T extends Templated>(owner: T, revision: ControllerRevision): T {
  const data = revision.data as { spec?: { template?: Record<string, unknown> } } | undefined;
  const raw = data?.spec?.template;
  if (!raw) return owner;
  const { $patch: _patch, ...template } = structuredClone(raw);
  // Go's zero time, written as null, is no timestamp at all.
  const metadata = template.metadata;
  if (isObject(metadata) && metadata.creationTimestamp === null) delete metadata.creationTimestamp;
  return { ...owner, spec: { ...(owner.spec ?? {}), template } };
}

/**
 * Which revisions to delete to keep `limit` non-live ones (kube's truncateHistory): live are the
 * ones the caller names (the current and update revisions, every revision a pod carries); the
 * oldest others go first.
 */
export function revisionsToTruncate(
  sorted: readonly ControllerRevision[],
  live: ReadonlySet<string>,
  limit: number,
): ControllerRevision[] {
  const history = sorted.filter((r) => !live.has(r.metadata?.name ?? ""));
  return history.length <= limit ? [] : history.slice(0, history.length - limit);
}

export interface HistoryDeps {
  /** Creates the revision; resolves to the stored object, or undefined when the name is taken. */
  createRevision(revision: ControllerRevision): Promise<ControllerRevision | undefined>;
  /** Reads a revision by name (after a create found the name taken). */
  getRevision(name: string): Promise<ControllerRevision | undefined>;
  /** Sets `revision` on an existing revision and resolves to the stored object. */
  renumberRevision(revision: ControllerRevision, to: number): Promise<ControllerRevision>;
}

export interface Revisions {
  /** The revision named `current` in the options, or the update revision. */
  current: ControllerRevision;
  /** The revision of the owner's template. */
  update: ControllerRevision;
  collisionCount: number;
  /** Every revision of the owner, ascending, including any created here. */
  all: ControllerRevision[];
}

export interface ResolveOptions {
  /** The revision (of the owner's current template) numbered `revision`, named with `collisionCount`. */
  make(revision: number, collisionCount: number): ControllerRevision;
  /** The owner's `status.collisionCount`. */
  collisionCount?: number | undefined;
  /** The name of the revision the owner reports as current (StatefulSet's `currentRevision`). */
  current?: string | undefined;
}

/** The current and update revisions of an owner from the revisions it owns (see the header). */
export async function resolveRevisions(
  owned: readonly ControllerRevision[],
  deps: HistoryDeps,
  options: ResolveOptions,
): Promise<Revisions> {
  const sorted = sortRevisions(owned);
  let collisionCount = options.collisionCount ?? 0;
  const wanted = options.make(nextRevisionNumber(sorted), collisionCount);
  const equal = sorted.filter((r) => equalRevisions(r, wanted));
  const newest = sorted.at(-1);
  const lastEqual = equal.at(-1);
  let update: ControllerRevision;
  let all = sorted;
  if (lastEqual && newest && lastEqual === newest) {
    update = newest;
  } else if (lastEqual) {
    update = await deps.renumberRevision(lastEqual, wanted.revision);
    all = sortRevisions(sorted.map((r) => (r === lastEqual ? update : r)));
  } else {
    for (;;) {
      const candidate = options.make(wanted.revision, collisionCount);
      const created = await deps.createRevision(candidate);
      if (created) {
        update = created;
        break;
      }
      const existing = await deps.getRevision(candidate.metadata?.name ?? "");
      if (existing && equalRevisions(existing, candidate)) {
        update = existing;
        break;
      }
      collisionCount++;
    }
    all = sortRevisions([
      ...sorted.filter((r) => r.metadata?.name !== update.metadata?.name),
      update,
    ]);
  }
  const current = all.find((r) => r.metadata?.name === options.current) ?? update;
  return { current, update, collisionCount, all };
}
