/**
 * `/metrics` of a running cluster, scraped as Prometheus would and parsed with a Prometheus
 * text-format parser from npm (`prom2javascript`, which throws on a line it cannot read and on a
 * histogram whose `+Inf` bucket is not its count): the API server's, read with
 * `kubectl get --raw /metrics` and with curl and the cluster's client certificate, counts the
 * real kubectl's lists, gets, server-side applies and watches under kube-apiserver's names and
 * labels; the DNS server's, read with curl from the address the cluster reports, counts `dig`'s
 * queries, NXDOMAIN answers and cache hits under CoreDNS's. Skips visibly without kubectl, dig
 * or curl.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { getMetricsFromIterator, type PromMetric, type PromMetrics } from "prom2javascript";
import { waitFor } from "../src/_testing/index.ts";
import { type Cluster, startCluster } from "../src/index.ts";
import { KUBECTL, NO_KUBECTL, run } from "./_kubectl.ts";

// Address ranges of this file's own, so clusters of test files running at once never clash.
const POD_CIDR = "127.237.0.0/16";
const SERVICE_CIDR = "127.109.0.0/16";

const exec = promisify(execFile);
async function have(cmd: string, args: string[]): Promise<boolean> {
  try {
    await exec(cmd, args);
    return true;
  } catch {
    return false;
  }
}
const NO_DIG = (await have("dig", ["-v"])) ? false : "dig is not installed (bind9-dnsutils)";
const NO_CURL = (await have("curl", ["--version"])) ? false : "curl is not installed";
const SKIP = NO_KUBECTL || NO_DIG || NO_CURL;

type Labels = Record<string, string>;
interface Series {
  labels: Labels;
  value?: number;
  buckets?: Record<string, number>;
  count?: number;
  sum?: number;
}

/** Parses a scrape; the parser throws on any line that is not valid text format. */
function parse(text: string): Promise<PromMetrics> {
  return getMetricsFromIterator(text.split("\n")[Symbol.iterator]());
}

function family(page: PromMetrics, name: string): PromMetric & { data: Series[] } {
  const f = page[name];
  assert.ok(f, `${name} is exported`);
  return f as PromMetric & { data: Series[] };
}

function matches(labels: Labels | undefined, want: Labels): boolean {
  return Object.entries(want).every(([k, v]) => (labels?.[k] ?? "") === v);
}

/** The sum of the counter or gauge samples whose labels include `want` (0 when none). */
function sum(page: PromMetrics, name: string, want: Labels = {}): number {
  const data = (page[name]?.data ?? []) as Series[];
  return data.filter((m) => matches(m.labels, want)).reduce((t, m) => t + (m.value ?? 0), 0);
}

/** The histogram series whose labels are exactly `want` beside `le`. */
function histogram(page: PromMetrics, name: string, want: Labels) {
  const series = family(page, name).data.filter(
    (m) => matches(m.labels, want) && Object.keys(m.labels).length === Object.keys(want).length,
  );
  assert.equal(series.length, 1, `one ${name} series for ${JSON.stringify(want)}`);
  const s = series[0]!;
  const buckets = Object.entries(s.buckets ?? {})
    .map(([le, n]) => [le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le), n] as const)
    .sort((a, b) => a[0] - b[0]);
  return { buckets, count: s.count ?? 0, sum: s.sum ?? 0 };
}

describe("Prometheus /metrics of a running cluster", { skip: SKIP }, () => {
  let cluster: Cluster;
  let pki: string;
  // A discovery cache of the cluster's own, so that kubectl asks for discovery at least once here.
  const target = () => [
    "--kubeconfig",
    cluster.kubeconfigPath,
    "--cache-dir",
    join(cluster.dataDir, "kubectl-cache"),
  ];
  const kubectl = async (args: string[], input?: string) => {
    const r = await run(KUBECTL!, [...target(), ...args], {
      ...(input !== undefined ? { input } : {}),
    });
    assert.equal(r.code, 0, `kubectl ${args.join(" ")}:\n${r.stderr}`);
    return r.stdout;
  };
  const curl = async (args: string[]) => {
    const { stdout } = await exec("curl", ["-sS", "--max-time", "20", ...args], {
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  };
  const scrapeApi = async () => parse(await kubectl(["get", "--raw", "/metrics"]));
  const scrapeDns = async () => parse(await curl([cluster.dnsMetricsUrl]));
  const dig = async (name: string, ...extra: string[]) => {
    const { host, port } = cluster.dnsAddress;
    const { stdout } = await exec("dig", [`@${host}`, "-p", String(port), ...extra, name]);
    return /status: (\w+)/.exec(stdout)?.[1];
  };

  before(async () => {
    cluster = await startCluster({
      ephemeral: true,
      name: "prometheus",
      apiPort: 0,
      dnsPort: 0,
      runtime: "simulated",
      podCidr: POD_CIDR,
      serviceCidr: SERVICE_CIDR,
    });
    pki = join(cluster.dataDir, "pki");
  });
  after(async () => {
    await cluster?.stop();
  });

  test("the API server counts kubectl's lists, gets and server-side applies by kube's verbs", async () => {
    const before = await scrapeApi();
    const list = { verb: "LIST", resource: "pods", scope: "namespace", code: "200" };
    for (let i = 0; i < 3; i++) await kubectl(["get", "pods", "-n", "default"]);
    await kubectl(["get", "namespace", "default"]);
    const missing = await run(KUBECTL!, [...target(), "get", "configmap", "nope", "-n", "default"]);
    assert.notEqual(missing.code, 0);
    const cm = (v: string) =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: scraped\n  namespace: default\ndata:\n  v: "${v}"\n`;
    await kubectl(["apply", "--server-side", "-f", "-"], cm("1"));
    await kubectl(["apply", "--server-side", "-f", "-"], cm("2"));
    const page = await scrapeApi();
    const delta = (name: string, want: Labels) => sum(page, name, want) - sum(before, name, want);

    assert.equal(delta("apiserver_request_total", list), 3);
    assert.equal(
      delta("apiserver_request_total", {
        verb: "GET",
        resource: "namespaces",
        scope: "resource",
        code: "200",
      }),
      1,
    );
    assert.equal(
      delta("apiserver_request_total", { verb: "GET", resource: "configmaps", code: "404" }),
      1,
    );
    const apply = { verb: "APPLY", resource: "configmaps", scope: "resource" };
    assert.equal(delta("apiserver_request_total", { ...apply, code: "201" }), 1, "created");
    assert.equal(delta("apiserver_request_total", { ...apply, code: "200" }), 1, "then patched");
    for (const subresource of ["api", "apis"]) {
      const discovery = { verb: "GET", subresource, component: "apiserver", code: "200" };
      assert.ok(
        delta("apiserver_request_total", discovery) >= 1,
        `aggregated discovery ${subresource}`,
      );
    }

    const total = family(page, "apiserver_request_total");
    assert.equal(total.type, "counter");
    assert.match(total.help, /^\[STABLE\] Counter of apiserver requests broken out for each verb/);
    const listSeries = total.data.find((m) => matches(m.labels, list));
    assert.deepEqual(Object.keys(listSeries?.labels ?? {}).sort(), [
      "code",
      "component",
      "dry_run",
      "group",
      "resource",
      "scope",
      "subresource",
      "verb",
      "version",
    ]);
    assert.equal(listSeries?.labels?.["component"], "apiserver");

    const seriesLabels = {
      verb: "LIST",
      dry_run: "",
      group: "",
      version: "v1",
      resource: "pods",
      subresource: "",
      scope: "namespace",
      component: "apiserver",
    };
    const d = histogram(page, "apiserver_request_duration_seconds", seriesLabels);
    assert.equal(d.buckets.length, 24, "kube's 23 bounds and +Inf");
    assert.equal(d.buckets[0]?.[0], 0.005);
    assert.equal(d.buckets[22]?.[0], 60);
    for (let i = 1; i < d.buckets.length; i++) {
      assert.ok(d.buckets[i]![1] >= d.buckets[i - 1]![1], "cumulative");
    }
    assert.equal(d.buckets.at(-1)?.[1], d.count);
    const dBefore = (() => {
      try {
        return histogram(before, "apiserver_request_duration_seconds", seriesLabels).count;
      } catch {
        return 0;
      }
    })();
    assert.equal(d.count - dBefore, 3);
    assert.ok(d.sum > 0);
    const { dry_run: _, ...sizeLabels } = seriesLabels;
    const sizes = histogram(page, "apiserver_response_sizes", sizeLabels);
    assert.ok(sizes.sum > 0 && sizes.count >= 3);

    const listed = (await kubectl(["get", "namespaces", "-o", "name"])).trim().split("\n");
    assert.equal(sum(page, "apiserver_storage_objects", { resource: "namespaces" }), listed.length);
    assert.ok(sum(page, "apiserver_storage_objects", { resource: "configmaps" }) >= 1);
    assert.ok(
      family(page, "apiserver_storage_objects").data.some(
        (m) => m.labels?.["resource"] === "deployments.apps",
      ),
    );
    assert.ok(sum(page, "apiserver_current_inflight_requests", { request_kind: "readOnly" }) >= 1);
    assert.ok(sum(page, "process_resident_memory_bytes") > 0);
    assert.ok(sum(page, "process_cpu_seconds_total") > 0);
  });

  test("a watch is long-running while kubectl watches and counted once it ends", async () => {
    const watching = { verb: "WATCH", resource: "configmaps", scope: "namespace" };
    const before = await scrapeApi();
    const child: ChildProcess = spawn(
      KUBECTL!,
      [...target(), "get", "configmaps", "-n", "default", "--watch"],
      { stdio: "ignore" },
    );
    try {
      await waitFor(
        async () => {
          const page = await scrapeApi();
          return sum(page, "apiserver_longrunning_requests", watching) === 1;
        },
        { what: "the watch to be open", retryErrors: true },
      );
    } finally {
      child.kill("SIGTERM");
    }
    const page = await waitFor(
      async () => {
        const p = await scrapeApi();
        return sum(p, "apiserver_longrunning_requests", watching) === 0 ? p : undefined;
      },
      { what: "the watch to be counted", retryErrors: true },
    );
    const ended = { ...watching, code: "200" };
    assert.equal(
      sum(page, "apiserver_request_total", ended) - sum(before, "apiserver_request_total", ended),
      1,
    );
  });

  test("curl reads /metrics with the cluster's client certificate, and is refused without one", async () => {
    const url = `${cluster.apiUrl}/metrics`;
    const cacert = join(pki, "ca.crt");
    const text = await curl([
      "--cacert",
      cacert,
      "--cert",
      join(pki, "admin.crt"),
      "--key",
      join(pki, "admin.key"),
      "-D",
      "-",
      url,
    ]);
    assert.match(text, /^HTTP\/1\.1 200 OK\r$/m);
    assert.match(text, /^content-type: text\/plain; version=0\.0\.4; charset=utf-8\r$/im);
    const body = text.slice(text.indexOf("\r\n\r\n") + 4);
    assert.ok("apiserver_request_total" in (await parse(body)));
    const refused = await curl(["--cacert", cacert, "-o", "/dev/null", "-w", "%{http_code}", url]);
    assert.equal(refused, "403"); // system:anonymous lacks system:monitoring's /metrics
  });

  test("the DNS server counts dig's queries, NXDOMAIN answers and cache hits as CoreDNS does", async () => {
    assert.match(cluster.dnsMetricsUrl, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const before = await scrapeDns();
    const name = "kubernetes.default.svc.cluster.local";
    assert.equal(await dig(name), "NOERROR");
    assert.equal(await dig(name), "NOERROR");
    assert.equal(await dig(name, "+tcp"), "NOERROR");
    for (let i = 0; i < 3; i++)
      assert.equal(await dig("nope.default.svc.cluster.local"), "NXDOMAIN");
    assert.equal(await dig(`_https._tcp.${name}`, "-t", "SRV"), "NOERROR");
    const page = await scrapeDns();
    const delta = (metric: string, want: Labels) =>
      sum(page, metric, want) - sum(before, metric, want);
    const { port } = cluster.dnsAddress;
    const server = `dns://127.0.0.1:${port}`;

    const requests = family(page, "coredns_dns_requests_total");
    assert.equal(requests.type, "counter");
    assert.deepEqual(Object.keys(requests.data[0]?.labels ?? {}).sort(), [
      "family",
      "proto",
      "server",
      "type",
      "view",
      "zone",
    ]);
    const mine = { server, zone: "." };
    assert.equal(
      delta("coredns_dns_requests_total", { ...mine, proto: "udp", type: "A", family: "1" }),
      5,
    );
    assert.equal(delta("coredns_dns_requests_total", { ...mine, proto: "tcp", type: "A" }), 1);
    assert.equal(delta("coredns_dns_requests_total", { ...mine, type: "SRV" }), 1);
    assert.equal(delta("coredns_dns_responses_total", { ...mine, rcode: "NXDOMAIN" }), 3);
    assert.equal(delta("coredns_dns_responses_total", { ...mine, rcode: "NOERROR" }), 4);
    assert.equal(
      delta("coredns_dns_responses_total", { ...mine, rcode: "NXDOMAIN", plugin: "cache" }),
      2,
      "the first NXDOMAIN is computed, the next two come from the cache",
    );
    const cache = { server, zones: "." };
    assert.equal(delta("coredns_cache_hits_total", { ...cache, type: "denial" }), 2);
    assert.equal(delta("coredns_cache_hits_total", { ...cache, type: "success" }), 2);
    assert.equal(delta("coredns_cache_requests_total", cache), 7);
    assert.equal(
      delta("coredns_cache_requests_total", cache),
      delta("coredns_cache_hits_total", cache) + delta("coredns_cache_misses_total", cache),
    );
    assert.ok(sum(page, "coredns_cache_entries", { ...cache, type: "denial" }) >= 1);
    assert.ok(sum(page, "coredns_cache_entries", { ...cache, type: "success" }) >= 2);

    const d = histogram(page, "coredns_dns_request_duration_seconds", {
      server,
      zone: ".",
      view: "",
    });
    assert.equal(d.buckets.length, 17, "CoreDNS's 16 bounds and +Inf");
    assert.equal(d.buckets[0]?.[0], 0.00025);
    const dBefore = histogram(before, "coredns_dns_request_duration_seconds", {
      server,
      zone: ".",
      view: "",
    });
    assert.equal(d.count - dBefore.count, 7);
    const size = histogram(page, "coredns_dns_response_size_bytes", {
      server,
      zone: ".",
      view: "",
      proto: "tcp",
    });
    assert.ok(size.count >= 1 && size.sum > 0);
    assert.equal(sum(page, "coredns_build_info"), 1);
    assert.ok(sum(page, "process_open_fds") > 0);
  });
});
