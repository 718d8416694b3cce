/**
 * The template hash (the Deployment's pod-template-hash, the DaemonSet's revision names): kube's
 * `controller.ComputeHash` in spirit — FNV-32a over a deterministic
 * serialization of the pod template, then the collision count (4 bytes, little endian) when set,
 * rendered as the decimal of the hash through `rand.SafeEncodeString` (a consonant-and-digit
 * alphabet, so no word and no ambiguous character appears in names). Not byte-identical to
 * kube's (which hashes Go's spew dump), but stable across restarts and changing with any field.
 *
 * @module
 */

const ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789";

/** JSON with object keys sorted at every level: the same template always serializes alike. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export function fnv32a(bytes: Uint8Array, seed = 0x811c9dc5): number {
  let h = seed;
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** kube's rand.SafeEncodeString: each character replaced by ALPHANUMS[code % 27]. */
export function safeEncodeString(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) out += ALPHANUMS[s.charCodeAt(i) % ALPHANUMS.length];
  return out;
}

export function computeHash(template: unknown, collisionCount?: number): string {
  let h = fnv32a(new TextEncoder().encode(canonicalJson(template)));
  if (collisionCount !== undefined) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, collisionCount >>> 0, true);
    h = fnv32a(b, h);
  }
  return safeEncodeString(String(h));
}
