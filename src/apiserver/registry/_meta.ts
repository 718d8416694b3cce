/**
 * Small metadata helpers shared by the registry verbs: timestamps as Kubernetes writes them,
 * generated name suffixes, and the comparisons that decide generation bumps and no-op writes.
 *
 * @module
 */
import { isDeepStrictEqual } from "node:util";
import type { KubeObject } from "../../api/types.ts";

/** RFC 3339 with second precision, as metav1.Time serialises: `2024-01-02T03:04:05Z`. */
export function rfc3339(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

/** RFC 3339 with microseconds, as metav1.MicroTime serialises. */
export function rfc3339Micro(date: Date): string {
  return `${date.toISOString().slice(0, 23)}000Z`;
}

// apimachinery's utilrand alphabet: no vowels (no words) and no look-alike characters.
const SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

export function randomSuffix(random: () => number, length = 5): string {
  let s = "";
  for (let i = 0; i < length; i++) {
    s += SUFFIX_ALPHABET[Math.floor(random() * SUFFIX_ALPHABET.length)];
  }
  return s;
}

/** Everything but metadata and status: what a generation counts changes of. */
function specPart(obj: KubeObject): Record<string, unknown> {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = obj;
  return rest;
}

export function specChanged(a: KubeObject, b: KubeObject): boolean {
  return !isDeepStrictEqual(specPart(a), specPart(b));
}

/** Equal apart from resourceVersion and managedFields timestamps: a write that changes nothing. */
export function sameObject(a: KubeObject, b: KubeObject): boolean {
  const strip = (o: KubeObject) => {
    const { resourceVersion: _rv, managedFields: _mf, ...meta } = o.metadata;
    return { ...o, apiVersion: undefined, kind: undefined, metadata: meta };
  };
  return isDeepStrictEqual(strip(a), strip(b));
}
