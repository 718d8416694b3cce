/**
 * ControllerRevisions of a StatefulSet, as kube's `pkg/controller/history` and the StatefulSet
 * controller's `newRevision`/`ApplyRevision` make them:
 *
 * - `data` is the strategic-merge patch `{"spec":{"template":{…,"$patch":"replace"}}}` with keys
 *   sorted (Go marshals maps sorted); `kubectl rollout undo statefulset` sends it back as is;
 * - the name is `<set>-<hash>`: FNV-32 (FNV-1) over the data and the collision count, printed in decimal
 *   and mapped through apimachinery's SafeEncodeString alphabet; the hash is also the
 *   `controller.kubernetes.io/hash` label; the other labels are the template's, the annotations
 *   the set's, and the set is the controller owner;
 * - two revisions are equal when their data is.
 *
 * @module
 */
import type { ControllerRevision, StatefulSet } from "kubernetes-types/apps/v1.js";
import type { PodTemplateSpec } from "kubernetes-types/core/v1.js";
import { controllerRef } from "./_identity.ts";

export const HASH_LABEL = "controller.kubernetes.io/hash";
const SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

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

/** FNV-1 (multiply, then xor: Go's fnv.New32, which kube's history package uses). */
export function fnv32(bytes: Uint8Array, hash = 0x811c9dc5): number {
  let h = hash;
  for (const b of bytes) {
    h = Math.imul(h, 0x01000193) >>> 0;
    h = (h ^ b) >>> 0;
  }
  return h;
}

/** apimachinery's rand.SafeEncodeString: each character mapped into a vowel-free alphabet. */
export function safeEncode(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) out += SAFE_ALPHABET[s.charCodeAt(i) % SAFE_ALPHABET.length];
  return out;
}

export function revisionHash(data: unknown, collisionCount: number): string {
  const enc = new TextEncoder();
  let h = fnv32(enc.encode(sortedJson(data)));
  h = fnv32(enc.encode(String(collisionCount)), h);
  return safeEncode(String(h));
}

/** The revision data for the set's current template. */
export function revisionData(set: StatefulSet): Record<string, unknown> {
  const template = structuredClone(set.spec?.template ?? {}) as Record<string, unknown>;
  template.$patch = "replace";
  return JSON.parse(sortedJson({ spec: { template } }));
}

/** The name a revision of `set` with this hash has (the prefix is cut to keep it ≤ 253). */
export function revisionName(set: StatefulSet, hash: string): string {
  return `${(set.metadata?.name ?? "").slice(0, 223)}-${hash}`;
}

export function newRevision(
  set: StatefulSet,
  revision: number,
  collisionCount: number,
): ControllerRevision {
  const data = revisionData(set);
  const hash = revisionHash(data, collisionCount);
  const metadata: ControllerRevision["metadata"] & object = {
    name: revisionName(set, hash),
    labels: { ...(set.spec?.template?.metadata?.labels ?? {}), [HASH_LABEL]: hash },
    annotations: { ...(set.metadata?.annotations ?? {}) },
    ownerReferences: [controllerRef(set)],
  };
  if (set.metadata?.namespace !== undefined) metadata.namespace = set.metadata.namespace;
  return { apiVersion: "apps/v1", kind: "ControllerRevision", metadata, data, revision };
}

export function equalRevisions(a: ControllerRevision, b: ControllerRevision): boolean {
  return sortedJson(a.data ?? null) === sortedJson(b.data ?? null);
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

/** The set with the template a revision recorded (kube's ApplyRevision for our patch shape). */
export function applyRevision(set: StatefulSet, revision: ControllerRevision): StatefulSet {
  const data = revision.data as { spec?: { template?: Record<string, unknown> } } | undefined;
  const raw = data?.spec?.template;
  if (!raw) return set;
  const { $patch: _patch, ...template } = structuredClone(raw);
  return {
    ...set,
    spec: { ...(set.spec ?? { selector: {}, template: {} }), template },
  } as StatefulSet & { spec: { template: PodTemplateSpec } };
}

/**
 * Which revisions to delete to keep `limit` non-live ones (kube's truncateHistory): live are the
 * current and update revisions and every revision a pod carries; the oldest others go first.
 */
export function revisionsToTruncate(
  sorted: readonly ControllerRevision[],
  live: ReadonlySet<string>,
  limit: number,
): ControllerRevision[] {
  const history = sorted.filter((r) => !live.has(r.metadata?.name ?? ""));
  return history.length <= limit ? [] : history.slice(0, history.length - limit);
}
