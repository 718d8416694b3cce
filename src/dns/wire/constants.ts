/**
 * DNS numeric constants (RFC 1035, 2782, 3596, 6891) used by the codec and the answerer.
 *
 * @module
 */

export const RRType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  HINFO: 13,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
} as const;

export const RRClass = { IN: 1, CH: 3, HS: 4, NONE: 254, ANY: 255 } as const;

export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  /** Extended (needs OPT): the upper bits travel in the OPT record. */
  BADVERS: 16,
} as const;

export const Opcode = { QUERY: 0, IQUERY: 1, STATUS: 2, NOTIFY: 4, UPDATE: 5 } as const;

/** Longest name on the wire, root label included (RFC 1035 §2.3.4). */
export const MAX_NAME_WIRE = 255;
export const MAX_LABEL = 63;
/** Size a client without EDNS may receive over UDP. */
export const CLASSIC_UDP_SIZE = 512;
export const HEADER_SIZE = 12;
