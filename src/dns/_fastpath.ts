/**
 * Hot-path reading of an ordinary query without building a Message: header checks, the single
 * question's name (plain labels only) and an optional OPT record. It accepts only what the full
 * decoder would accept and classify as a cacheable standard query; anything else returns null
 * and takes the full path. The key is the exact question bytes plus the EDNS/DO state, the same
 * key the handler stores answers under.
 *
 * @module
 */

export interface FastQuery {
  key: string;
  id: number;
  rd: boolean;
  cd: boolean;
  /** The question's type. */
  qtype: number;
  /** Client's UDP payload size, or -1 without EDNS. */
  udpSize: number;
}

export function cacheKey(questionBytes: string, edns: { dnssecOk: boolean } | undefined): string {
  return `${questionBytes}${edns ? (edns.dnssecOk ? "D" : "E") : "-"}`;
}

export function readFastQuery(p: Buffer): FastQuery | null {
  const len = p.length;
  if (len < 17) return null;
  const f2 = p[2]!;
  // QR=0, opcode=0 (bits 3–6 of byte 2).
  if ((f2 & 0xf8) !== 0) return null;
  // qdcount 1, ancount 0, nscount 0, arcount ≤ 1.
  if (
    p[4] !== 0 ||
    p[5] !== 1 ||
    p[6] !== 0 ||
    p[7] !== 0 ||
    p[8] !== 0 ||
    p[9] !== 0 ||
    p[10] !== 0
  )
    return null;
  const ar = p[11]!;
  if (ar > 1) return null;
  let pos = 12;
  let wire = 1;
  for (;;) {
    if (pos >= len) return null;
    const l = p[pos]!;
    if (l === 0) break;
    if (l > 63) return null;
    wire += l + 1;
    if (wire > 255) return null;
    pos += l + 1;
  }
  pos += 1;
  if (pos + 4 > len) return null;
  // class IN only
  if (p[pos + 2] !== 0 || p[pos + 3] !== 1) return null;
  const qEnd = pos + 4;
  let udpSize = -1;
  let dnssecOk = false;
  if (ar === 1) {
    // OPT: root owner, type 41, class = size, ttl = ext-rcode/version/flags, rdlen, options.
    if (qEnd + 11 > len || p[qEnd] !== 0 || p[qEnd + 1] !== 0 || p[qEnd + 2] !== 41) return null;
    udpSize = (p[qEnd + 3]! << 8) | p[qEnd + 4]!;
    if (p[qEnd + 6] !== 0) return null; // EDNS version 0 only
    dnssecOk = (p[qEnd + 7]! & 0x80) !== 0;
    const rdlen = (p[qEnd + 9]! << 8) | p[qEnd + 10]!;
    const end = qEnd + 11 + rdlen;
    if (end !== len) return null;
    let o = qEnd + 11;
    while (o < end) {
      if (o + 4 > end) return null;
      o += 4 + ((p[o + 2]! << 8) | p[o + 3]!);
    }
    if (o !== end) return null;
  } else if (qEnd !== len) {
    return null;
  }
  return {
    key: cacheKey(p.toString("latin1", 12, qEnd), udpSize < 0 ? undefined : { dnssecOk }),
    id: (p[0]! << 8) | p[1]!,
    rd: (f2 & 0x01) !== 0,
    cd: (p[3]! & 0x10) !== 0,
    qtype: (p[pos]! << 8) | p[pos + 1]!,
    udpSize,
  };
}
