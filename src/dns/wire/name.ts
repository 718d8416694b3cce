/**
 * Domain names: presentation text ⇄ labels, and reading a (possibly compressed) name from a
 * packet. Label bytes are kept as latin1 strings (one char per byte); text escapes `.`, `\` and
 * non-printable bytes so any wire name survives a round trip.
 *
 * Invariants enforced here: labels ≤ 63 bytes, names ≤ 255 bytes on the wire, compression
 * pointers only to strictly earlier offsets than every offset already visited (which makes
 * loops impossible), and every read is bounds-checked.
 *
 * @module
 */
import { MAX_LABEL, MAX_NAME_WIRE } from "./constants.ts";
import { WireError } from "./errors.ts";

/** Splits presentation text into raw labels (latin1 strings). Throws WireError on bad text. */
export function nameToLabels(text: string): string[] {
  if (text === "" || text === ".") return [];
  const s = text.endsWith(".") && !text.endsWith("\\.") ? text.slice(0, -1) : text;
  let labels: string[];
  if (s.indexOf("\\") < 0) {
    labels = s.split(".");
  } else {
    labels = [];
    let cur = "";
    for (let i = 0; i < s.length; i++) {
      const c = s[i]!;
      if (c === ".") {
        labels.push(cur);
        cur = "";
      } else if (c === "\\") {
        const d = s.slice(i + 1, i + 4);
        if (/^[0-9]{3}$/.test(d)) {
          const v = Number(d);
          if (v > 255)
            throw new WireError("bad-name-text", `bad escape in ${JSON.stringify(text)}`);
          cur += String.fromCharCode(v);
          i += 3;
        } else if (i + 1 < s.length) {
          cur += s[i + 1];
          i += 1;
        } else {
          throw new WireError("bad-name-text", `dangling escape in ${JSON.stringify(text)}`);
        }
      } else {
        cur += c;
      }
    }
    labels.push(cur);
  }
  let wire = 1;
  for (const l of labels) {
    if (l.length === 0)
      throw new WireError("bad-name-text", `empty label in ${JSON.stringify(text)}`);
    if (l.length > MAX_LABEL) throw new WireError("label-too-long", `label longer than 63 bytes`);
    for (let i = 0; i < l.length; i++) {
      if (l.charCodeAt(i) > 255)
        throw new WireError("bad-name-text", "non-latin1 character in name");
    }
    wire += l.length + 1;
  }
  if (wire > MAX_NAME_WIRE) throw new WireError("name-too-long", "name longer than 255 bytes");
  return labels;
}

function needsEscape(c: number): boolean {
  return c <= 0x20 || c >= 0x7f || c === 0x2e || c === 0x5c;
}

/** Presentation text of one raw label. */
export function labelToText(label: string): string {
  let plain = true;
  for (let i = 0; i < label.length; i++) {
    if (needsEscape(label.charCodeAt(i))) {
      plain = false;
      break;
    }
  }
  if (plain) return label;
  let out = "";
  for (let i = 0; i < label.length; i++) {
    const c = label.charCodeAt(i);
    if (c === 0x2e || c === 0x5c) out += `\\${label[i]}`;
    else if (c <= 0x20 || c >= 0x7f) out += `\\${String(c).padStart(3, "0")}`;
    else out += label[i];
  }
  return out;
}

export function labelsToName(labels: readonly string[]): string {
  return labels.map(labelToText).join(".");
}

/** Wire length of a name given as text (root = 1). */
export function nameWireLength(text: string): number {
  let n = 1;
  for (const l of nameToLabels(text)) n += l.length + 1;
  return n;
}

/**
 * Reads a name at `offset`. Returns the text and the offset just past the name in the original
 * position (after the first pointer when compressed).
 */
export function readName(
  buf: Uint8Array,
  offset: number,
  id?: number,
): { name: string; end: number } {
  let pos = offset;
  let end = -1;
  let lowest = offset;
  let wire = 1;
  let text = "";
  for (;;) {
    if (pos >= buf.length) throw new WireError("truncated", "name runs past the packet", id);
    const len = buf[pos]!;
    if (len === 0) {
      if (end < 0) end = pos + 1;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= buf.length)
        throw new WireError("truncated", "pointer runs past the packet", id);
      const ptr = ((len & 0x3f) << 8) | buf[pos + 1]!;
      if (end < 0) end = pos + 2;
      if (ptr >= lowest) {
        throw new WireError(
          ptr === pos ? "pointer-loop" : "bad-pointer",
          "compression pointer does not point strictly backwards",
          id,
        );
      }
      lowest = ptr;
      pos = ptr;
      continue;
    }
    if (kind !== 0) throw new WireError("bad-label-type", "reserved label type", id);
    if (pos + 1 + len > buf.length)
      throw new WireError("truncated", "label runs past the packet", id);
    wire += len + 1;
    if (wire > MAX_NAME_WIRE)
      throw new WireError("name-too-long", "name longer than 255 bytes", id);
    let label = "";
    let plain = true;
    for (let i = pos + 1; i < pos + 1 + len; i++) {
      const c = buf[i]!;
      if (needsEscape(c)) plain = false;
      label += String.fromCharCode(c);
    }
    const t = plain ? label : labelToText(label);
    text = text === "" ? t : `${text}.${t}`;
    pos += 1 + len;
  }
  return { name: text, end };
}

/** ASCII lower-casing that leaves other bytes alone (DNS is case-insensitive for A–Z only). */
export function lowerName(name: string): string {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 65 && c <= 90) return name.toLowerCase();
  }
  return name;
}
