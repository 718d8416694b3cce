/**
 * IPv4/IPv6 text ⇄ bytes without the dns or net modules, so the codec stays dependency-free and
 * strict: anything that is not a plain dotted quad or an RFC 4291 text form is rejected (null).
 *
 * @module
 */

export function parseIPv4(text: string): Uint8Array | null {
  // A character loop, not split and a regex: every A record of an answer is parsed here.
  const out = new Uint8Array(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || part > 3) return null;
      out[part++] = value;
      value = 0;
      digits = 0;
      continue;
    }
    if (c < 48 || c > 57) return null;
    if (digits > 0 && value === 0) return null; // no leading zeros
    value = value * 10 + (c - 48);
    if (++digits > 3 || value > 255) return null;
  }
  return part === 4 ? out : null;
}

export function parseIPv6(text: string): Uint8Array | null {
  let s = text;
  const tail: number[] = [];
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const lastColon = s.lastIndexOf(":");
  if (lastColon >= 0 && s.indexOf(".", lastColon) >= 0) {
    const v4 = parseIPv4(s.slice(lastColon + 1));
    if (!v4) return null;
    tail.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    s = s.slice(0, lastColon + 1);
    if (!s.endsWith("::")) s = s.slice(0, -1);
  }
  const dbl = s.indexOf("::");
  if (dbl !== s.lastIndexOf("::")) return null;
  const parseGroups = (part: string): number[] | null => {
    if (part === "") return [];
    const groups = part.split(":");
    const out: number[] = [];
    for (const g of groups) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(Number.parseInt(g, 16));
    }
    return out;
  };
  let groups: number[];
  if (dbl >= 0) {
    const head = parseGroups(s.slice(0, dbl));
    const rest = parseGroups(s.slice(dbl + 2));
    if (!head || !rest) return null;
    const fill = 8 - head.length - rest.length - tail.length;
    if (fill < 1) return null;
    groups = [...head, ...new Array<number>(fill).fill(0), ...rest, ...tail];
  } else {
    const all = parseGroups(s);
    if (!all) return null;
    groups = [...all, ...tail];
    if (groups.length !== 8) return null;
  }
  if (groups.length !== 8) return null;
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[i * 2] = groups[i]! >> 8;
    out[i * 2 + 1] = groups[i]! & 0xff;
  }
  return out;
}

export function formatIPv4(b: Uint8Array, off = 0): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** RFC 5952 text: lower-case, longest run (≥ 2) of zero groups as `::`, first run on ties. */
export function formatIPv6(b: Uint8Array, off = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[off + i * 2]! << 8) | b[off + i * 2 + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (n: number) => n.toString(16);
  if (bestStart < 0) return g.map(hex).join(":");
  const head = g.slice(0, bestStart).map(hex).join(":");
  const rest = g
    .slice(bestStart + bestLen)
    .map(hex)
    .join(":");
  return `${head}::${rest}`;
}

/** Canonical text of an address, or null when it is not an IP. */
export function canonicalIP(
  text: string,
): { family: 4 | 6; text: string; bytes: Uint8Array } | null {
  const v4 = parseIPv4(text);
  // Already-canonical input is returned as the same string, so a view that keeps it shares it
  // with the object it came from instead of holding a copy.
  if (v4) return { family: 4, text: same(text, formatIPv4(v4)), bytes: v4 };
  const v6 = parseIPv6(text);
  if (v6) return { family: 6, text: same(text, formatIPv6(v6)), bytes: v6 };
  return null;
}

function same(input: string, canonical: string): string {
  return input === canonical ? input : canonical;
}
