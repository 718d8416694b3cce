/**
 * Cluster DNS against a running cluster, asked by `dig` (issue 5's live acceptance, the part
 * Node's resolver cannot show): a headless Service lists exactly its ready pods over UDP and TCP,
 * a StatefulSet pod has its stable name, SRV and PTR name the pods, a headless Service with 300
 * endpoints answers with TC over UDP (without EDNS and with a 1232-byte buffer) and completely
 * over TCP, and the negative answers, flags and case rules are CoreDNS's. The 300 endpoints are
 * pods of the simulated runtime (no process each), which still get an IP and turn Ready.
 *
 * `test/dns-live.test.ts` covers readiness changes through Node's resolver; this file does not
 * repeat them. Skips visibly when `dig` is not installed or the build has no node agent.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import type { Pod } from "kubernetes-types/core/v1.js";
import { waitFor } from "../src/_testing/index.ts";
import { cidrContains, parseCidr } from "../src/api/cidr.ts";
import { REFS } from "../src/api/refs.ts";
import type { KubeObject } from "../src/api/types.ts";
import { type Cluster, startCluster } from "../src/index.ts";
import { RUNTIME_ANNOTATION } from "../src/kubelet/index.ts";
import { HTTP_SERVER, NODE } from "./_kubelet.ts";

const run = promisify(execFile);
const BIG = 300;

async function digVersion(): Promise<string | undefined> {
  try {
    const { stdout, stderr } = await run("dig", ["-v"]);
    return (stdout + stderr).trim();
  } catch {
    return undefined;
  }
}
const NO_DIG = (await digVersion())
  ? false
  : "dig is not installed (apt-get install bind9-dnsutils)";

interface DigRecord {
  name: string;
  ttl: number;
  type: string;
  data: string;
}

interface DigAnswer {
  status: string;
  flags: string[];
  counts: Record<string, number>;
  answer: DigRecord[];
  authority: DigRecord[];
  additional: DigRecord[];
  /** dig saw TC over UDP and asked again over TCP. */
  retriedOverTcp: boolean;
  /** "UDP" or "TCP": how the printed answer arrived. */
  transport: string;
  size: number;
  text: string;
}

/**
 * Parses dig's default presentation output: the `->>HEADER<<-` and `flags:` comment lines, the
 * `;; X SECTION:` blocks of records (name, TTL, class, type, data), the `SERVER:` line and the
 * `MSG SIZE rcvd:` line. Throws when the header is missing, so a changed dig fails loudly.
 */
function parseDig(text: string): DigAnswer {
  const header = /->>HEADER<<- opcode: \w+, status: (\w+), id: \d+/.exec(text);
  const flagLine = /;; flags:([^;]*);\s*(.*)$/m.exec(text);
  if (!header || !flagLine) throw new Error(`no DNS header in dig output:\n${text}`);
  const counts: Record<string, number> = {};
  for (const m of flagLine[2]!.matchAll(/(\w+): (\d+)/g)) counts[m[1]!] = Number(m[2]);
  const sections: Record<string, DigRecord[]> = { ANSWER: [], AUTHORITY: [], ADDITIONAL: [] };
  let current: DigRecord[] | undefined;
  for (const line of text.split("\n")) {
    const sec = /^;; (\w+) SECTION:/.exec(line);
    if (sec) {
      current = sections[sec[1]!];
      continue;
    }
    if (line.trim() === "" || line.startsWith(";")) {
      if (line.trim() === "") current = undefined;
      continue;
    }
    const f = /^(\S+)\s+(\d+)\s+IN\s+(\S+)\s+(.*)$/.exec(line);
    if (current && f) current.push({ name: f[1]!, ttl: Number(f[2]), type: f[3]!, data: f[4]! });
  }
  return {
    status: header[1]!,
    flags: flagLine[1]!.trim().split(/\s+/).filter(Boolean),
    counts,
    answer: sections.ANSWER!,
    authority: sections.AUTHORITY!,
    additional: sections.ADDITIONAL!,
    retriedOverTcp: /Truncated, retrying in TCP mode/.test(text),
    transport: /;; SERVER: .*\((UDP|TCP)\)/.exec(text)?.[1] ?? "",
    size: Number(/MSG SIZE\s+rcvd: (\d+)/.exec(text)?.[1] ?? -1),
    text,
  };
}

const isReady = (p: Pod) =>
  (p.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");

const headless = (name: string, app: string, port: number): KubeObject => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name },
  spec: { clusterIP: "None", selector: { app }, ports: [{ name: "http", port }] },
});

const manifests: KubeObject[] = [
  headless("web", "web", 8080),
  {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "front" },
    spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: 8080 }] },
  },
  {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: "web" },
    spec: {
      serviceName: "web",
      replicas: 2,
      podManagementPolicy: "Parallel",
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: {
          containers: [
            {
              name: "server",
              image: "node",
              command: [NODE, HTTP_SERVER],
              ports: [{ name: "http", containerPort: 8080 }],
              env: [
                { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
                { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
              ],
              readinessProbe: { httpGet: { path: "/ready", port: "http" }, periodSeconds: 1 },
            },
          ],
        },
      },
    },
  },
  {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "many" },
    spec: {
      replicas: BIG,
      selector: { matchLabels: { app: "many" } },
      template: {
        metadata: { labels: { app: "many" }, annotations: { [RUNTIME_ANNOTATION]: "simulated" } },
        spec: { containers: [{ name: "sim", image: "none", ports: [{ containerPort: 9000 }] }] },
      },
    },
  },
];

/** The first `nameserver` of the host that answers at all, for the forwarding check. */
async function hostResolverAnswers(name: string): Promise<DigAnswer | undefined> {
  let conf = "";
  try {
    conf = readFileSync("/etc/resolv.conf", "utf8");
  } catch {
    return undefined;
  }
  const server = /^\s*nameserver\s+(\S+)/m.exec(conf)?.[1];
  if (!server) return undefined;
  try {
    const { stdout } = await run("dig", [`@${server}`, "+time=2", "+tries=1", "A", name]);
    return parseDig(stdout);
  } catch {
    return undefined;
  }
}

describe("cluster DNS asked by dig", { skip: NO_DIG }, () => {
  let c: Cluster;
  let noAgent: string | false = false;
  const dig = async (...args: string[]): Promise<DigAnswer> => {
    const { stdout } = await run(
      "dig",
      ["@127.0.0.1", "-p", String(c.dnsAddress.port), "+time=3", "+tries=1", ...args],
      { maxBuffer: 4 << 20 },
    );
    return parseDig(stdout);
  };
  const pods = async (app: string) =>
    (await c.client.list(REFS.pods, "default", { labelSelector: `app=${app}` })).items as Pod[];
  const readyIPs = async (app: string) =>
    (await pods(app))
      .filter(isReady)
      .map((p) => p.status?.podIP ?? "")
      .sort();
  const addresses = (d: DigAnswer) =>
    d.answer
      .filter((r) => r.type === "A")
      .map((r) => r.data)
      .sort();

  before(async () => {
    c = await startCluster({
      runtime: "process",
      // 300 simulated pods and the StatefulSet on the one node: above kubelet's default 110.
      maxPods: 400,
      ephemeral: true,
      apiPort: 0,
      dnsPort: 0,
      updateKubeconfig: false,
    });
    if (!c.hasNodeAgent) {
      noAgent = "no node agent in this build: pods cannot run";
      return;
    }
    await c.apply(manifests);
    // The 300 pods' Service comes once they are Ready: one EndpointSlice sync instead of one per
    // pod start, which keeps this in-process cluster (and the test's event loop) far less busy.
    await waitFor(
      async () => (await readyIPs("web")).length === 2 && (await readyIPs("many")).length === BIG,
      {
        what: "both StatefulSet pods and all simulated pods Ready",
        timeoutMs: 60_000,
        retryErrors: true,
      },
    );
    await c.apply([headless("many", "many", 9000)]);
  });
  after(async () => {
    await c?.stop();
  });

  test("the headless name answers exactly the ready pods over UDP and TCP, authoritatively", async (t) => {
    if (noAgent) return t.skip(noAgent);
    const ips = await readyIPs("web");
    const udp = await waitFor(
      async () => {
        const d = await dig("A", "web.default.svc.cluster.local");
        return addresses(d).join() === ips.join() ? d : undefined;
      },
      { what: "dig to list both pods", retryErrors: true },
    );
    assert.equal(udp.status, "NOERROR");
    assert.ok(udp.flags.includes("aa"), `flags ${udp.flags.join(" ")}`);
    assert.equal(udp.transport, "UDP");
    assert.ok(udp.answer.every((r) => r.ttl === 5 && r.name === "web.default.svc.cluster.local."));
    const tcp = await dig("+tcp", "A", "web.default.svc.cluster.local");
    assert.equal(tcp.transport, "TCP");
    assert.deepEqual(addresses(tcp), ips);
    assert.ok(tcp.flags.includes("aa"));
  });

  test("a StatefulSet pod answers at its stable name, and PTR maps its IP back", async (t) => {
    if (noAgent) return t.skip(noAgent);
    const web0 = (await pods("web")).find((p) => p.metadata?.name === "web-0");
    const ip = web0?.status?.podIP;
    assert.ok(ip, "web-0 has an IP");
    for (const transport of ["+notcp", "+tcp"]) {
      const a = await dig(transport, "A", "web-0.web.default.svc.cluster.local");
      assert.deepEqual(addresses(a), [ip], transport);
      // As CoreDNS does, every Service whose endpoints publish the IP gets a PTR: the headless
      // one by the pod's hostname, the ClusterIP one by the dashed IP.
      const ptr = await dig(transport, "-x", ip);
      assert.deepEqual(
        ptr.answer.map((r) => [r.type, r.data]).sort(),
        [
          ["PTR", `${ip.replaceAll(".", "-")}.front.default.svc.cluster.local.`],
          ["PTR", "web-0.web.default.svc.cluster.local."],
        ],
        transport,
      );
    }
  });

  test("SRV names each StatefulSet pod with its port and gives their addresses, over UDP and TCP", async (t) => {
    if (noAgent) return t.skip(noAgent);
    for (const transport of ["+notcp", "+tcp"]) {
      const srv = await dig(transport, "SRV", "_http._tcp.web.default.svc.cluster.local");
      assert.equal(srv.status, "NOERROR", transport);
      // priority 0, weight 100 / number of records (CoreDNS), port, target.
      const records = srv.answer
        .filter((r) => r.type === "SRV")
        .map((r) => r.data.split(/\s+/))
        .sort((x, y) => String(x[3]).localeCompare(String(y[3])));
      assert.deepEqual(
        records,
        [
          ["0", "50", "8080", "web-0.web.default.svc.cluster.local."],
          ["0", "50", "8080", "web-1.web.default.svc.cluster.local."],
        ],
        transport,
      );
      const extra = srv.additional.filter((r) => r.type === "A");
      assert.deepEqual(extra.map((r) => r.data).sort(), await readyIPs("web"), transport);
    }
  });

  test("300 simulated pods: UDP answers set TC, TCP brings every address", async (t) => {
    if (noAgent) return t.skip(noAgent);
    const ips = await readyIPs("many");
    assert.equal(ips.length, BIG);
    assert.equal(new Set(ips).size, BIG, "every simulated pod has an IP of its own");
    const name = "many.default.svc.cluster.local";
    await waitFor(
      async () => {
        return addresses(await dig("+tcp", "A", name)).length === BIG;
      },
      { what: "DNS to list all 300 pods", retryErrors: true },
    );

    for (const args of [["+noedns"], ["+bufsize=1232"]]) {
      const tc = await dig("+notcp", "+ignore", ...args, "A", name);
      assert.ok(tc.flags.includes("tc"), `${args}: flags ${tc.flags.join(" ")}`);
      assert.equal(tc.transport, "UDP");
      assert.ok(tc.size <= (args[0] === "+noedns" ? 512 : 1232), `${args}: ${tc.size} bytes`);
      assert.ok(tc.answer.length < BIG);
    }
    // Without +ignore dig retries over TCP on TC, and says so.
    const retried = await dig("+noedns", "A", name);
    assert.ok(retried.retriedOverTcp, "dig printed 'Truncated, retrying in TCP mode'");
    assert.equal(retried.transport, "TCP");
    assert.deepEqual(addresses(retried), ips);

    const tcp = await dig("+tcp", "A", name);
    assert.equal(tcp.counts.ANSWER, BIG);
    assert.deepEqual(addresses(tcp), ips);
  });

  test("negative answers carry the SOA; AAAA of an IPv4 service is NODATA", async (t) => {
    if (noAgent) return t.skip(noAgent);
    const soa = /^ns\.dns\.cluster\.local\. hostmaster\.cluster\.local\. \d+ 7200 1800 86400 5$/;
    const nx = await dig("A", "missing.default.svc.cluster.local");
    assert.equal(nx.status, "NXDOMAIN");
    assert.ok(nx.flags.includes("aa"));
    assert.deepEqual(nx.answer, []);
    assert.equal(nx.authority.length, 1);
    assert.equal(nx.authority[0]!.name, "cluster.local.");
    assert.equal(nx.authority[0]!.type, "SOA");
    assert.match(nx.authority[0]!.data, soa);

    const front = await dig("A", "front.default.svc.cluster.local");
    assert.equal(front.answer.length, 1, "the ClusterIP service has one A record");
    const ip = front.answer[0]!.data;
    assert.ok(cidrContains(parseCidr(c.addresses.serviceCidr), ip), ip);
    const nodata = await dig("AAAA", "front.default.svc.cluster.local");
    assert.equal(nodata.status, "NOERROR");
    assert.deepEqual(nodata.answer, []);
    assert.equal(nodata.authority[0]?.type, "SOA");
    assert.match(nodata.authority[0]!.data, soa);
  });

  test("dns-version answers TXT 1.1.0, and the query's case is kept in the answer", async (t) => {
    if (noAgent) return t.skip(noAgent);
    const v = await dig("TXT", "dns-version.cluster.local");
    assert.deepEqual(
      v.answer.map((r) => [r.name, r.type, r.data]),
      [["dns-version.cluster.local.", "TXT", '"1.1.0"']],
    );
    const mixed = await dig("A", "Front.DEFAULT.svc.Cluster.Local");
    assert.equal(mixed.status, "NOERROR");
    assert.deepEqual(
      mixed.answer.map((r) => r.name),
      ["Front.DEFAULT.svc.Cluster.Local."],
    );
  });

  test("a name outside the cluster is forwarded and relayed as the host's resolver answers it", async (t) => {
    if (noAgent) return t.skip(noAgent);
    const name = "example.com";
    const direct = await hostResolverAnswers(name);
    if (!direct) return t.skip("the host's resolver does not answer here: nothing to forward to");
    const fwd = await dig("A", name);
    assert.ok(!fwd.flags.includes("aa"), "a forwarded answer is not authoritative");
    assert.equal(fwd.status, direct.status);
    assert.equal(addresses(fwd).length > 0, addresses(direct).length > 0);
  });
});
