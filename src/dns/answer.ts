/**
 * The answerer: one query in, one response out, following the Kubernetes DNS specification
 * 1.1.0 and, where it is silent, what CoreDNS's `kubernetes` plugin answers (see the research
 * notes). It reads only the {@link DnsView}; answers are computed from the view as it is at
 * call time.
 *
 * The result is synchronous except when an ExternalName target outside the cluster must be
 * looked up through `options.resolve`; then a Promise is returned.
 *
 * Names outside the cluster zones are not answered here ({@link isClusterName} tells the
 * server to forward them); if asked anyway, the answer is SERVFAIL.
 *
 * @module
 */
import { records, zoneAsWritten } from "./_lookup.ts";
import {
  type AnswerOptions,
  DEFAULT_EDNS_UDP_SIZE,
  type ResolvedOptions,
  resolveOptions,
  SCHEMA_VERSION,
  zoneOf,
} from "./options.ts";
import type { DnsView } from "./view.ts";
import { Opcode, Rcode, RRClass, RRType } from "./wire/constants.ts";
import { canonicalIP } from "./wire/ip.ts";
import type { Message, Question, ResourceRecord } from "./wire/message.ts";
import { lowerName } from "./wire/name.ts";
import { addressFromReverse } from "./zones.ts";

export {
  type AnswerOptions,
  cacheTags,
  DEFAULT_DNS_SERVICE_IP,
  DEFAULT_EDNS_UDP_SIZE,
  DEFAULT_REVERSE_CIDRS,
  DEFAULT_TTL,
  type ExternalResolver,
  isClusterName,
  type PodsMode,
  type ResolvedOptions,
  resolveOptions,
  SCHEMA_VERSION,
  zoneOf,
} from "./options.ts";

/** CoreDNS serves dns-version with this TTL, not the configured one. */
const SCHEMA_TTL = 28800;
const MAX_CNAME_CHAIN = 7;

// ---- building the response ------------------------------------------------------------------

interface Ctx {
  view: DnsView;
  o: ResolvedOptions;
  zone: string;
  /** The zone as the question spells it: SOA, NS and built names use it. */
  zoneText: string;
  /** The question name as received (case preserved). */
  qname: string;
  ttl: number;
}

/** A CNAME whose target's records arrive later (external lookup). */
interface Pending {
  cname: ResourceRecord;
  lookup: Promise<ResourceRecord[] | null>;
}

type Item = ResourceRecord | Pending;

function isPending(i: Item): i is Pending {
  return (i as Pending).lookup !== undefined;
}

/** A/AAAA answers for `name` (CoreDNS plugin.A / plugin.AAAA). */
function addressRecords(
  c: Ctx,
  owner: string,
  qtype: 1 | 28,
  chain: ResourceRecord[],
): { items: Item[]; nx: boolean } {
  const qn = lowerName(owner);
  const zone = zoneOf(qn, c.o);
  if (zone === null) return { items: [], nx: true };
  const found = records(c.view, qn, zone, c.o, zoneAsWritten(owner, zone));
  if (found.nx) return { items: [], nx: true };
  const out: Item[] = [];
  const seen = new Set<string>();
  for (const s of found.items) {
    if (s.family === 0) {
      const target = s.host;
      if (lowerName(target) === qn) continue;
      if (chain.length > MAX_CNAME_CHAIN) continue;
      const cname: ResourceRecord = { name: owner, type: 5, class: RRClass.IN, ttl: c.ttl, target };
      if (chain.some((x) => x.type === 5 && lowerName(x.target) === lowerName(target))) continue;
      if (zoneOf(lowerName(target), c.o) === c.zone) {
        const next = addressRecords(c, target, qtype, [...chain, cname]);
        if (!next.nx && next.items.length > 0) out.push(cname, ...next.items);
        continue;
      }
      if (!c.o.resolve) {
        // No upstream to chase the target: the CNAME alone lets the client follow it.
        out.push(cname);
        continue;
      }
      const lookup = c.o.resolve(target, qtype).then(
        (rrs) => rrs,
        () => null,
      );
      out.push({ cname, lookup });
      continue;
    }
    if ((qtype === 1) !== (s.family === 4)) continue;
    if (seen.has(s.host)) continue;
    seen.add(s.host);
    out.push(
      qtype === 1
        ? { name: owner, type: 1, class: RRClass.IN, ttl: c.ttl, address: s.host }
        : { name: owner, type: 28, class: RRClass.IN, ttl: c.ttl, address: s.host },
    );
  }
  return { items: out, nx: false };
}

function srvRecords(
  c: Ctx,
  qn: string,
): { answer: ResourceRecord[]; extra: ResourceRecord[]; nx: boolean } {
  const found = records(c.view, qn, c.zone, c.o, c.zoneText);
  if (found.nx) return { answer: [], extra: [], nx: true };
  const items = found.items.filter((s) => s.family !== 0);
  const weight = Math.max(1, Math.floor(100 / Math.max(1, items.length)));
  const answer: ResourceRecord[] = [];
  const extra: ResourceRecord[] = [];
  const seenSrv = new Set<string>();
  const seenAddr = new Set<string>();
  for (const s of items) {
    if (s.port === -1) continue;
    const k = `${s.domain} ${s.port}`;
    if (!seenSrv.has(k)) {
      seenSrv.add(k);
      answer.push({
        name: c.qname,
        type: 33,
        class: RRClass.IN,
        ttl: c.ttl,
        priority: 0,
        weight,
        port: s.port,
        target: s.domain,
      });
    }
    const a = `${s.domain} ${s.host}`;
    if (!seenAddr.has(a)) {
      seenAddr.add(a);
      extra.push(
        s.family === 4
          ? { name: s.domain, type: 1, class: RRClass.IN, ttl: c.ttl, address: s.host }
          : { name: s.domain, type: 28, class: RRClass.IN, ttl: c.ttl, address: s.host },
      );
    }
  }
  return { answer, extra, nx: false };
}

function ptrRecords(c: Ctx, qn: string): { answer: ResourceRecord[]; nx: boolean } {
  const ip = addressFromReverse(qn);
  if (ip === null) {
    const found = records(c.view, qn, c.zone, c.o, c.zoneText);
    return { answer: [], nx: found.nx };
  }
  const targets: string[] = [];
  const svc = c.view.servicesByIP(ip)[0];
  if (svc) {
    targets.push(`${svc.name}.${svc.namespace}.svc.${c.o.zone}`);
  } else {
    for (const e of c.view.endpointsByIP(ip)) {
      const t = `${e.hostname}.${e.service}.${e.namespace}.svc.${c.o.zone}`;
      if (!targets.includes(t)) targets.push(t);
    }
  }
  if (targets.length === 0) return { answer: [], nx: true };
  return {
    answer: targets.map((t) => ({
      name: c.qname,
      type: 12,
      class: RRClass.IN,
      ttl: c.ttl,
      target: t,
    })),
    nx: false,
  };
}

function soa(c: Ctx): ResourceRecord {
  return {
    name: c.zoneText,
    type: 6,
    class: RRClass.IN,
    ttl: Math.min(c.ttl, 300),
    mname: `ns.dns.${c.zoneText}`,
    rname: `hostmaster.${c.zoneText}`,
    serial: c.view.serial,
    refresh: 7200,
    retry: 1800,
    expire: 86400,
    minimum: c.ttl,
  };
}

/** A response skeleton for `query`: ID, opcode, RD/CD echoed, QR set, question echoed. */
export function replyTo(
  query: Message,
  rcode: number,
  options?: { ednsUdpSize?: number },
): Message {
  const h = query.header;
  const reply: Message = {
    header: {
      id: h.id,
      qr: true,
      opcode: h.opcode,
      aa: false,
      tc: false,
      rd: h.rd,
      // CoreDNS's kubernetes plugin answers with RA clear (SetReply/SetRcode do not set it).
      ra: false,
      z: false,
      ad: false,
      cd: h.cd,
      rcode,
    },
    questions: query.questions.slice(0, 1),
    answers: [],
    authorities: [],
    additionals: [],
  };
  if (query.edns) {
    reply.edns = {
      udpSize: options?.ednsUdpSize ?? DEFAULT_EDNS_UDP_SIZE,
      version: 0,
      dnssecOk: query.edns.dnssecOk,
      options: [],
    };
  }
  return reply;
}

/**
 * Answers `query` from `view`. Protocol-level refusals come first, as CoreDNS's server does:
 * opcode other than QUERY → NOTIMP, question count ≠ 1 → FORMERR, EDNS version > 0 → BADVERS,
 * class other than IN → REFUSED, zone transfers → REFUSED.
 */
export function answer(
  query: Message,
  view: DnsView,
  options: AnswerOptions,
): Message | Promise<Message> {
  const o = resolveOptions(options);
  const edns = { ednsUdpSize: o.ednsUdpSize };
  if (query.header.opcode !== Opcode.QUERY) return replyTo(query, Rcode.NOTIMP, edns);
  if (query.questions.length !== 1) return replyTo(query, Rcode.FORMERR, edns);
  if (query.edns && query.edns.version > 0) return replyTo(query, Rcode.BADVERS, edns);
  const q = query.questions[0]!;
  if (q.class !== RRClass.IN) return replyTo(query, Rcode.REFUSED, edns);
  if (q.type === RRType.AXFR || q.type === RRType.IXFR) return replyTo(query, Rcode.REFUSED, edns);
  const qn = lowerName(q.name);
  const zone = zoneOf(qn, o);
  if (zone === null) return replyTo(query, Rcode.SERVFAIL, edns);
  const c: Ctx = {
    view,
    o,
    zone,
    zoneText: zoneAsWritten(q.name, zone),
    qname: q.name,
    ttl: o.ttl,
  };
  const reply = replyTo(query, Rcode.NOERROR, edns);
  reply.header.aa = true;
  const built = build(c, q, qn);
  if (built instanceof Promise) return built.then((b) => finish(c, reply, b));
  return finish(c, reply, built);
}

interface Built {
  answer: ResourceRecord[];
  extra: ResourceRecord[];
  nx: boolean;
}

function build(c: Ctx, q: Question, qn: string): Built | Promise<Built> {
  const apex = qn === c.zone;
  switch (q.type) {
    case RRType.A:
    case RRType.AAAA: {
      const r = addressRecords(c, q.name, q.type, []);
      if (!r.items.some(isPending))
        return { answer: r.items as ResourceRecord[], extra: [], nx: r.nx };
      return Promise.all(
        r.items.map(async (i) => {
          if (!isPending(i)) return [i];
          const rrs = await i.lookup;
          return rrs === null ? [] : [i.cname, ...rrs];
        }),
      ).then((parts) => ({ answer: parts.flat(), extra: [], nx: r.nx }));
    }
    case RRType.TXT: {
      if (c.zone === c.o.zone && qn === `dns-version.${c.zone}`) {
        return {
          answer: [
            { name: q.name, type: 16, class: RRClass.IN, ttl: SCHEMA_TTL, texts: [SCHEMA_VERSION] },
          ],
          extra: [],
          nx: false,
        };
      }
      return { answer: [], extra: [], nx: false };
    }
    case RRType.SRV:
      return srvRecords(c, qn);
    case RRType.PTR:
      if (c.zone !== c.o.zone) return { ...ptrRecords(c, qn), extra: [] };
      return { answer: [], extra: [], nx: records(c.view, qn, c.zone, c.o, c.zoneText).nx };
    case RRType.CNAME: {
      const found = records(c.view, qn, c.zone, c.o, c.zoneText);
      const first = found.items[0];
      const answer: ResourceRecord[] =
        first && first.family === 0
          ? [{ name: q.name, type: 5, class: RRClass.IN, ttl: c.ttl, target: first.host }]
          : [];
      return { answer, extra: [], nx: found.nx };
    }
    case RRType.SOA:
      if (apex) return { answer: [soa(c)], extra: [], nx: false };
      break;
    case RRType.NS:
      if (apex) {
        const ns = `ns.dns.${c.zoneText}`;
        const ip = canonicalIP(c.o.dnsServiceIP);
        const extra: ResourceRecord[] = !ip
          ? []
          : ip.family === 4
            ? [{ name: ns, type: 1, class: RRClass.IN, ttl: c.ttl, address: ip.text }]
            : [{ name: ns, type: 28, class: RRClass.IN, ttl: c.ttl, address: ip.text }];
        return {
          answer: [{ name: q.name, type: 2, class: RRClass.IN, ttl: c.ttl, target: ns }],
          extra,
          nx: false,
        };
      }
      break;
  }
  // Any other type: NODATA or NXDOMAIN by whether the name exists (CoreDNS's fake A lookup).
  return { answer: [], extra: [], nx: records(c.view, qn, c.zone, c.o, c.zoneText).nx };
}

function finish(c: Ctx, reply: Message, b: Built): Message {
  if (b.nx) {
    // Before the informers synced, a missing name may just not be loaded yet.
    reply.header.rcode = c.view.synced ? Rcode.NXDOMAIN : Rcode.SERVFAIL;
    reply.authorities.push(soa(c));
    return reply;
  }
  if (b.answer.length === 0) {
    reply.authorities.push(soa(c));
    return reply;
  }
  reply.answers = dedup(b.answer);
  reply.additionals = dedup(b.extra);
  return reply;
}

/** A record's data as dedup compares it (names case-insensitively). */
function rrData(rr: ResourceRecord): string {
  switch (rr.type) {
    case 1:
    case 28:
      return rr.address;
    case 2:
    case 5:
    case 12:
      return lowerName(rr.target);
    case 33:
      return `${rr.priority} ${rr.weight} ${rr.port} ${lowerName(rr.target)}`;
    default:
      return JSON.stringify(rr);
  }
}

/**
 * Drops repeated records (CoreDNS dnsutil.Dedup), keeping the first. Records are grouped by
 * owner and type, and a run of records with the same owner (a headless answer: hundreds of A
 * records) looks its group up once, so no key string is built per record.
 */
function dedup(rrs: ResourceRecord[]): ResourceRecord[] {
  if (rrs.length < 2) return rrs;
  const groups = new Map<string, Set<string>>();
  const out: ResourceRecord[] = [];
  let owner: string | undefined;
  let type = -1;
  let group = new Set<string>();
  for (const rr of rrs) {
    if (rr.name !== owner || rr.type !== type) {
      owner = rr.name;
      type = rr.type;
      const g = `${lowerName(rr.name)} ${rr.type}`;
      const known = groups.get(g);
      if (known) {
        group = known;
      } else {
        group = new Set();
        groups.set(g, group);
      }
    }
    const d = rrData(rr);
    if (group.has(d)) continue;
    group.add(d);
    out.push(rr);
  }
  return out;
}
