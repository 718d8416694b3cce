/**
 * The in-memory shape of a DNS message. Names are presentation text without the trailing dot
 * (the root is ""), with `\.`, `\\` and `\DDD` escapes for bytes that are not plain; they keep
 * the case they were received or built with. OPT is lifted out of the additional section into
 * `edns` so no code has to special-case it.
 *
 * @module
 */

export interface Header {
  id: number;
  /** true for a response. */
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  /** The Z bit (must be zero; kept so a decoder round-trips). */
  z: boolean;
  ad: boolean;
  cd: boolean;
  /** Full rcode: the low 4 bits live in the header, the upper 8 in OPT. */
  rcode: number;
}

export interface Question {
  name: string;
  type: number;
  class: number;
}

interface RRBase {
  name: string;
  class: number;
  ttl: number;
}

export type RData =
  | { type: 1; address: string }
  | { type: 28; address: string }
  | { type: 2 | 5 | 12; target: string }
  | { type: 33; priority: number; weight: number; port: number; target: string }
  | { type: 16; texts: string[] }
  | {
      type: 6;
      mname: string;
      rname: string;
      serial: number;
      refresh: number;
      retry: number;
      expire: number;
      minimum: number;
    }
  /** Any other type, kept opaque; `type` 0 (reserved in DNS) marks it, `rawType` is the real one. */
  | { type: 0; rawType: number; rdata: Uint8Array };

export type ResourceRecord = RRBase & RData;

export interface EdnsOption {
  code: number;
  data: Uint8Array;
}

export interface Edns {
  udpSize: number;
  version: number;
  dnssecOk: boolean;
  options: EdnsOption[];
}

export interface Message {
  header: Header;
  questions: Question[];
  answers: ResourceRecord[];
  authorities: ResourceRecord[];
  additionals: ResourceRecord[];
  edns?: Edns;
}

export function emptyHeader(id = 0): Header {
  return {
    id,
    qr: false,
    opcode: 0,
    aa: false,
    tc: false,
    rd: false,
    ra: false,
    z: false,
    ad: false,
    cd: false,
    rcode: 0,
  };
}
