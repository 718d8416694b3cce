/**
 * DNS server metrics in CoreDNS's names and labels (plugin/metrics `vars.go`, plugin/cache
 * `metrics.go`, CoreDNS 1.11), so a CoreDNS dashboard reads them unchanged:
 *
 * - `coredns_dns_requests_total{server,zone,view,proto,family,type}`
 * - `coredns_dns_responses_total{server,zone,view,rcode,plugin}`
 * - `coredns_dns_request_duration_seconds{server,zone,view}` (0.25 ms to 8 s, ×2)
 * - `coredns_dns_request_size_bytes` / `coredns_dns_response_size_bytes{server,zone,view,proto}`
 * - `coredns_cache_hits_total{server,type,zones,view}`, `coredns_cache_misses_total`,
 *   `coredns_cache_requests_total{server,zones,view}`, `coredns_cache_entries{server,type,zones,view}`
 *   (type `success` or `denial`: NXDOMAIN and empty answers)
 * - `coredns_build_info{version,revision,goversion}`
 *
 * One `DnsMetrics` belongs to one query handler, which is one CoreDNS server block: `server` is
 * `dns://<address>:<port>` (the form CoreDNS uses with its `bind` plugin), `zone` and `zones` are
 * `.` and `view` empty, as with kubeadm's Corefile (one `.:53` block, `cache` in it). `plugin` says
 * who wrote the answer: `cache`, `kubernetes` (answered from the cluster view), `forward`, or
 * empty when the server itself answered an error. Queries the server drops or answers FORMERR
 * before reading a question are not counted, as CoreDNS's never reach its plugins.
 *
 * The hot path is a few array increments: figures are numbers in typed arrays indexed by query
 * type, rcode and plugin; labels become text only in `write`, when `/metrics` is read.
 *
 * @module
 */
import { performance } from "node:perf_hooks";
import { exponentialBuckets, type Labels, type PrometheusWriter } from "../api/prometheus.ts";

/** CoreDNS's `TimeBuckets`: 0.25 ms × 2ⁿ, 16 bounds up to ~8 s. */
export const DNS_DURATION_BUCKETS = exponentialBuckets(0.00025, 2, 16);
/** CoreDNS's request and response size buckets, in bytes. */
export const DNS_SIZE_BUCKETS = [
  0, 100, 200, 300, 400, 511, 1023, 2047, 4095, 8291, 16e3, 32e3, 48e3, 64e3,
];

/** Query types CoreDNS reports by name; every other type is `other`. */
const MONITORED_TYPES: ReadonlyArray<readonly [number, string]> = [
  [1, "A"],
  [2, "NS"],
  [5, "CNAME"],
  [6, "SOA"],
  [12, "PTR"],
  [15, "MX"],
  [16, "TXT"],
  [28, "AAAA"],
  [33, "SRV"],
  [43, "DS"],
  [46, "RRSIG"],
  [47, "NSEC"],
  [48, "DNSKEY"],
  [50, "NSEC3"],
  [65, "HTTPS"],
  [251, "IXFR"],
  [252, "AXFR"],
  [255, "ANY"],
];
const TYPE_NAMES = [...MONITORED_TYPES.map(([, name]) => name), "other"];
const OTHER_TYPE = TYPE_NAMES.length - 1;
/** Query type → index into TYPE_NAMES; one table for every server. */
const TYPE_INDEX = new Uint8Array(65536).fill(OTHER_TYPE);
MONITORED_TYPES.forEach(([type], i) => {
  TYPE_INDEX[type] = i;
});

/** miekg/dns `RcodeToString`; others print as `RCODE<n>`, as CoreDNS's `rcode.ToString`. */
const RCODE_NAMES: Record<number, string> = {
  0: "NOERROR",
  1: "FORMERR",
  2: "SERVFAIL",
  3: "NXDOMAIN",
  4: "NOTIMP",
  5: "REFUSED",
  6: "YXDOMAIN",
  7: "YXRRSET",
  8: "NXRRSET",
  9: "NOTAUTH",
  10: "NOTZONE",
  11: "DSOTYPENI",
  16: "BADSIG",
  17: "BADKEY",
  18: "BADTIME",
  19: "BADMODE",
  20: "BADNAME",
  21: "BADALG",
  22: "BADTRUNC",
  23: "BADCOOKIE",
};
const RCODES = 24;

/** Who wrote an answer (CoreDNS's `plugin` label). */
export const Plugin = { server: 0, cache: 1, kubernetes: 2, forward: 3 } as const;
export type PluginIndex = (typeof Plugin)[keyof typeof Plugin];
const PLUGIN_NAMES = ["", "cache", "kubernetes", "forward"];

export const Proto = { udp: 0, tcp: 1 } as const;
const PROTO_NAMES = ["udp", "tcp"];

function sizeBucket(bytes: number): number {
  let i = 0;
  while (i < DNS_SIZE_BUCKETS.length && bytes > DNS_SIZE_BUCKETS[i]!) i++;
  return i;
}

const SIZE_SLOTS = DNS_SIZE_BUCKETS.length + 1;
const DURATION_SLOTS = DNS_DURATION_BUCKETS.length + 1;

export class DnsMetrics {
  /** `dns://<host>:<port>`; set once the server has bound its address. */
  server = "dns://:53";
  /** 1 for IPv4, 2 for IPv6. */
  family: 1 | 2 = 1;
  /** [proto × type] */
  private readonly requests = new Float64Array(2 * TYPE_NAMES.length);
  /** [rcode × plugin] for rcodes below 24; rarer extended rcodes in `rareRcodes`. */
  private readonly responses = new Float64Array(RCODES * PLUGIN_NAMES.length);
  private readonly rareRcodes = new Map<number, Float64Array>();
  private readonly duration = new Float64Array(DURATION_SLOTS);
  private durationSum = 0;
  /** [proto × bucket] */
  private readonly requestSize = new Float64Array(2 * SIZE_SLOTS);
  private readonly requestSizeSum = new Float64Array(2);
  private readonly responseSize = new Float64Array(2 * SIZE_SLOTS);
  private readonly responseSizeSum = new Float64Array(2);
  /** [success, denial] */
  private readonly cacheHits = new Float64Array(2);
  private cacheMisses = 0;

  /**
   * One answered query: its transport, question type (0 without a question), rcode, who wrote
   * the answer, the query and answer sizes, and when it arrived (`performance.now()`).
   */
  answered(
    proto: 0 | 1,
    qtype: number,
    rcode: number,
    plugin: PluginIndex,
    requestBytes: number,
    responseBytes: number,
    startMs: number,
  ): void {
    this.requests[proto * TYPE_NAMES.length + TYPE_INDEX[qtype & 0xffff]!]!++;
    if (rcode < RCODES) this.responses[rcode * PLUGIN_NAMES.length + plugin]!++;
    else this.rare(rcode)[plugin]!++;
    const seconds = (performance.now() - startMs) / 1000;
    let d = 0;
    while (d < DNS_DURATION_BUCKETS.length && seconds > DNS_DURATION_BUCKETS[d]!) d++;
    this.duration[d]!++;
    this.durationSum += seconds;
    this.requestSize[proto * SIZE_SLOTS + sizeBucket(requestBytes)]!++;
    this.requestSizeSum[proto]! += requestBytes;
    this.responseSize[proto * SIZE_SLOTS + sizeBucket(responseBytes)]!++;
    this.responseSizeSum[proto]! += responseBytes;
  }

  cacheHit(denial: boolean): void {
    this.cacheHits[denial ? 1 : 0]!++;
  }

  cacheMiss(): void {
    this.cacheMisses++;
  }

  private rare(rcode: number): Float64Array {
    let counts = this.rareRcodes.get(rcode);
    if (!counts) {
      counts = new Float64Array(PLUGIN_NAMES.length);
      this.rareRcodes.set(rcode, counts);
    }
    return counts;
  }

  /** Appends this server's series; `cacheEntries` is the answer cache's current content. */
  write(w: PrometheusWriter, cacheEntries: { success: number; denial: number }): void {
    const server = this.server;
    const base: Labels = [
      ["server", server],
      ["view", ""],
      ["zone", "."],
    ];
    // Labels sorted by name, as the Go client writes them.
    w.family(
      "coredns_dns_requests_total",
      "counter",
      "Counter of DNS requests made per zone, protocol and family.",
    );
    for (let p = 0; p < 2; p++) {
      for (let t = 0; t < TYPE_NAMES.length; t++) {
        const n = this.requests[p * TYPE_NAMES.length + t]!;
        if (n === 0) continue;
        w.sample(
          "coredns_dns_requests_total",
          [
            ["family", String(this.family)],
            ["proto", PROTO_NAMES[p]!],
            ["server", server],
            ["type", TYPE_NAMES[t]!],
            ["view", ""],
            ["zone", "."],
          ],
          n,
        );
      }
    }
    w.family("coredns_dns_responses_total", "counter", "Counter of response status codes.");
    const rcodeRows: Array<[number, ArrayLike<number>]> = [];
    for (let r = 0; r < RCODES; r++) {
      rcodeRows.push([
        r,
        this.responses.subarray(r * PLUGIN_NAMES.length, (r + 1) * PLUGIN_NAMES.length),
      ]);
    }
    for (const [r, counts] of [...this.rareRcodes].sort((a, b) => a[0] - b[0]))
      rcodeRows.push([r, counts]);
    for (const [r, counts] of rcodeRows) {
      for (let p = 0; p < PLUGIN_NAMES.length; p++) {
        const n = counts[p]!;
        if (n === 0) continue;
        w.sample(
          "coredns_dns_responses_total",
          [
            ["plugin", PLUGIN_NAMES[p]!],
            ["rcode", RCODE_NAMES[r] ?? `RCODE${r}`],
            ["server", server],
            ["view", ""],
            ["zone", "."],
          ],
          n,
        );
      }
    }
    w.family(
      "coredns_dns_request_duration_seconds",
      "histogram",
      "Histogram of the time (in seconds) each request took per zone.",
    );
    w.histogram("coredns_dns_request_duration_seconds", base, {
      bounds: DNS_DURATION_BUCKETS,
      counts: this.duration,
      sum: this.durationSum,
    });
    const sizes = (name: string, help: string, counts: Float64Array, sums: Float64Array) => {
      w.family(name, "histogram", help);
      for (let p = 0; p < 2; p++) {
        w.histogram(
          name,
          [
            ["proto", PROTO_NAMES[p]!],
            ["server", server],
            ["view", ""],
            ["zone", "."],
          ],
          {
            bounds: DNS_SIZE_BUCKETS,
            counts: counts.subarray(p * SIZE_SLOTS, (p + 1) * SIZE_SLOTS),
            sum: sums[p]!,
          },
        );
      }
    };
    sizes(
      "coredns_dns_request_size_bytes",
      "Size of the EDNS0 UDP buffer in bytes (64K for TCP) per zone and protocol.",
      this.requestSize,
      this.requestSizeSum,
    );
    sizes(
      "coredns_dns_response_size_bytes",
      "Size of the returned response in bytes.",
      this.responseSize,
      this.responseSizeSum,
    );
    const cacheLabels = (type?: string): Labels => [
      ["server", server],
      ...(type === undefined ? [] : [["type", type] as const]),
      ["view", ""],
      ["zones", "."],
    ];
    w.family("coredns_cache_entries", "gauge", "The number of elements in the cache.");
    w.sample("coredns_cache_entries", cacheLabels("denial"), cacheEntries.denial);
    w.sample("coredns_cache_entries", cacheLabels("success"), cacheEntries.success);
    w.family("coredns_cache_hits_total", "counter", "The count of cache hits.");
    w.sample("coredns_cache_hits_total", cacheLabels("denial"), this.cacheHits[1]!);
    w.sample("coredns_cache_hits_total", cacheLabels("success"), this.cacheHits[0]!);
    w.family(
      "coredns_cache_misses_total",
      "counter",
      "The count of cache misses. Deprecated, derive misses from cache hits/requests counters.",
    );
    w.sample("coredns_cache_misses_total", cacheLabels(), this.cacheMisses);
    w.family("coredns_cache_requests_total", "counter", "The count of cache requests.");
    w.sample(
      "coredns_cache_requests_total",
      cacheLabels(),
      this.cacheHits[0]! + this.cacheHits[1]! + this.cacheMisses,
    );
  }
}

/** `coredns_build_info`: which loopkube and Node.js answer (CoreDNS puts its own version there). */
export function writeBuildInfo(w: PrometheusWriter, version: string): void {
  w.family(
    "coredns_build_info",
    "gauge",
    "A metric with a constant '1' value labeled by version, revision, and goversion from which CoreDNS was built.",
  );
  w.sample(
    "coredns_build_info",
    [
      ["goversion", `node${process.versions.node}`],
      ["revision", ""],
      ["version", `loopkube-${version}`],
    ],
    1,
  );
}
