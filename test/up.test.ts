/**
 * `loopkube up -f` as a newcomer runs it, over the quickstart and the StatefulSet example: the
 * table of Services, DNS names and endpoints; the headless name resolving (Node's resolver) to
 * exactly the pods in the table; the address ranges it printed holding its Services and pods;
 * Ctrl-C stopping every pod process; and a second `up` on the same data dir bringing back the
 * same ranges, the same pods with the same IPs and the StatefulSet's volume data.
 */
import assert from "node:assert/strict";
import { Resolver } from "node:dns/promises";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { get as httpGet } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { waitFor } from "../src/_testing/index.ts";
import { cidrContains, parseCidr } from "../src/api/cidr.ts";
import { REFS } from "../src/api/refs.ts";
import { createHttpClient, loadKubeconfig } from "../src/client/index.ts";
import { cliEnv, startUp } from "./_cli.ts";
import { descendants } from "./_proc.ts";

const ROOT = process.getuid?.() === 0;

let home: string;
let dataDir: string;
before(() => {
  home = mkdtempSync(join(tmpdir(), "loopkube-up-test-"));
  dataDir = join(home, "cluster");
});
after(() => rmSync(home, { recursive: true, force: true }));

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

function fetchText(ip: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    httpGet({ host: ip, port, path: "/", agent: false }, (res) => {
      let body = "";
      res.on("data", (d) => {
        body += String(d);
      });
      res.on("end", () => resolve(body));
    }).on("error", reject);
  });
}

/** The ranges `up` printed (`pods:`, `services:`, …), each as the line's value. */
function printedRanges(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const label of ["pods", "services", "LB ingress", "node IP"]) {
    const m = new RegExp(`^  ${label}: +(\\S+)`, "m").exec(text);
    if (m?.[1]) out[label] = m[1];
  }
  return out;
}

async function podIPs(): Promise<Map<string, string>> {
  const client = createHttpClient(
    loadKubeconfig(readFileSync(join(dataDir, "kubeconfig"), "utf8")),
  );
  const pods = await client.list(REFS.pods, "default");
  return new Map(
    pods.items.map((p) => [p.metadata.name ?? "", (p.status as { podIP?: string }).podIP ?? ""]),
  );
}

describe("loopkube up -f examples/quickstart -f examples/statefulset", () => {
  const manifests = ["-f", "examples/quickstart", ...(ROOT ? ["-f", "examples/statefulset"] : [])];
  const args = [
    "--data-dir",
    "",
    "--api-port",
    "0",
    "--dns-port",
    "0",
    "--no-kubeconfig-update",
    ...manifests,
  ];
  const first: {
    ips?: Map<string, string>;
    identities?: Map<string, string>;
    ranges?: Record<string, string>;
  } = {};

  test("prints the table, resolves the headless name to its pods, and Ctrl-C stops every pod", async () => {
    args[1] = dataDir;
    const { child, out } = await startUp(args, /Press Ctrl-C to stop\.\n/, cliEnv(home));
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    try {
      const text = out();
      // The ranges this cluster was given (other clusters may run on this machine).
      const ranges = printedRanges(text);
      assert.deepEqual(Object.keys(ranges), ["pods", "services", "LB ingress", "node IP"], text);
      first.ranges = ranges;
      const podRange = parseCidr(ranges.pods ?? "");
      assert.match(
        text,
        /default\/my-headless-service\s+ClusterIP\s+None\s+my-headless-service\.default\.svc\.cluster\.local/,
      );
      const serviceIP =
        /default\/my-service\s+ClusterIP\s+(\S+)\s+my-service\.default\.svc\.cluster\.local/.exec(
          text,
        )?.[1];
      assert.ok(cidrContains(parseCidr(ranges.services ?? ""), serviceIP ?? ""), text);
      const tableIPs = [...text.matchAll(/my-app-\S+ (127\.\d+\.\d+\.\d+) ready/g)].map(
        (m) => m[1] ?? "",
      );
      assert.ok(
        tableIPs.every((ip) => cidrContains(podRange, ip)),
        `${tableIPs.join()} in ${ranges.pods}`,
      );
      // Each pod appears once per Service (my-service and my-headless-service).
      const mine = [...new Set(tableIPs)].sort();
      assert.equal(mine.length, 3, text);
      if (ROOT) assert.match(text, /web-0\.nginx\.default\.svc\.cluster\.local/);
      const dnsPort = Number(/DNS: +127\.0\.0\.1:(\d+)/.exec(text)?.[1]);
      assert.match(
        text,
        new RegExp(`dig @127\\.0\\.0\\.1 -p ${dnsPort} \\+short my-headless-service`),
      );

      const resolver = new Resolver({ timeout: 1000, tries: 2 });
      resolver.setServers([`127.0.0.1:${dnsPort}`]);
      assert.deepEqual(
        (await resolver.resolve4("my-headless-service.default.svc.cluster.local")).sort(),
        mine,
      );

      first.ips = await podIPs();
      if (ROOT) {
        first.identities = new Map();
        for (const name of ["web-0", "web-1", "web-2"]) {
          first.identities.set(name, await fetchText(first.ips.get(name) ?? "", 8080));
          assert.match(
            first.identities.get(name) ?? "",
            new RegExp(`^${name}: ${name} first started at`),
          );
        }
      }
      const pods = descendants(child.pid ?? 0);
      assert.ok(pods.length >= 3, `pod processes under loopkube: ${pods.length}`);

      child.kill("SIGINT");
      assert.equal(await exited, 0);
      assert.match(out(), /SIGINT: stopping cluster/);
      // Killed children are reaped an instant after loopkube exits: allow that instant.
      await waitFor(() => pods.filter(alive).length === 0, {
        what: "every pod process gone",
        retryErrors: true,
      }).catch(() => undefined);
      assert.deepEqual(pods.filter(alive), [], "no pod process outlives a Ctrl-C");
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });

  test("a second up on the same data dir brings back the same pods, IPs and volume data", async () => {
    assert.ok(first.ips, "the first test ran");
    // No -f this time: everything comes back from the data dir.
    const again = args.filter((a, i) => a !== "-f" && args[i - 1] !== "-f");
    const { child, out } = await startUp(again, /Press Ctrl-C to stop\.\n/, cliEnv(home));
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    try {
      assert.deepEqual(printedRanges(out()), first.ranges, "the data dir keeps its ranges");
      const ips = await podIPs();
      assert.deepEqual(ips, first.ips, "same pod names and IPs");
      if (ROOT) {
        for (const [name, identity] of first.identities ?? []) {
          const body = await waitFor(
            () => fetchText(ips.get(name) ?? "", 8080).catch(() => undefined),
            { what: `${name} serving again`, retryErrors: true },
          );
          assert.equal(body, identity, `${name} kept what it wrote on its first start`);
        }
      }
      child.kill("SIGTERM");
      assert.equal(await exited, 0);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});
