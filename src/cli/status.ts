/**
 * `loopkube status`: whether the cluster runs, its addresses, `/readyz` per component, and
 * object counts read through the API (as any client would). Exit status 3 when it does not run.
 *
 * `-o json|yaml` prints a `ClusterStatus`: the cluster's record as `list` gives it, plus
 * `nodeAgent`, `ready`, `checks` (`/readyz?verbose`, one `{name, ok, reason}` per component)
 * and `objects` (counts by resource); every key is present, `null` when not known.
 *
 * @module
 */
import type { Command } from "commander";
import {
  countObjects,
  describeRanges,
  probeReadyz,
  readClusterKubeconfig,
  readClusterRecord,
  readRunInfo,
} from "../cluster/index.ts";
import { API_VERSION, type OutputFormat, outputOption, printObject } from "./_output.ts";
import { DEFAULT_NAME, dataDirOf, type Io, type TargetOptions } from "./_shared.ts";

interface Check {
  name: string;
  ok: boolean;
  reason: string | null;
}

export function addStatusCommand(program: Command, io: Io): void {
  program
    .command("status")
    .description("show whether the cluster runs, its components, addresses and object counts")
    .option("--name <name>", "cluster name", DEFAULT_NAME)
    .option("--data-dir <dir>", "data directory (default: under the XDG data home, per name)")
    .addOption(outputOption())
    .action(async (o: TargetOptions & { output?: OutputFormat }) => {
      const dir = dataDirOf(o);
      const record = readClusterRecord(dir);
      const info = readRunInfo(dir);
      const running = record?.state === "running" && info !== undefined;
      let ready: { status: number; body: string } | undefined;
      let objects: Record<string, number | null> | null = null;
      if (running) {
        const kubeconfig = readClusterKubeconfig(dir) ?? "";
        ready = await probeReadyz(kubeconfig, { verbose: true }).catch((err: Error) => ({
          status: 0,
          body: err.message,
        }));
        objects = Object.fromEntries(
          (await countObjects(info.kubeconfigPath)).map(([k, n]) => [
            k,
            n === "?" ? null : Number(n),
          ]),
        );
      }
      if (!running) io.setExitCode(3);
      if (o.output) {
        printObject(io, o.output, {
          apiVersion: API_VERSION,
          kind: "ClusterStatus",
          name: record?.name ?? o.name,
          state: record?.state ?? "stopped",
          pid: record?.pid ?? null,
          dataDir: dir,
          apiUrl: record?.apiUrl ?? null,
          kubeconfigPath: record?.kubeconfigPath ?? null,
          dns: record?.dns ?? null,
          dnsMetricsUrl: running ? (info.dnsMetricsUrl ?? null) : null,
          podCidr: record?.podCidr ?? null,
          serviceCidr: record?.serviceCidr ?? null,
          nodes: objects?.nodes ?? record?.nodes ?? null,
          createdAt: record?.createdAt ?? null,
          nodeAgent: running ? info.nodeAgent : null,
          ready: ready ? ready.status === 200 : null,
          checks: ready ? readyzChecks(ready.body) : [],
          objects,
        });
        return;
      }
      if (!running) {
        const why = record?.state === "stale" ? ` (pid ${record.pid} is gone; stale)` : "";
        io.out(`cluster "${o.name}" is not running${why} (data dir ${dir})`);
        return;
      }
      io.out(`cluster "${o.name}" is running (pid ${info.pid})`);
      io.out(`  API server:  ${info.apiUrl}`);
      io.out(`  kubeconfig:  ${info.kubeconfigPath}`);
      io.out(`  DNS:         ${info.dns.host}:${info.dns.port}`);
      for (const line of describeRanges(info)) io.out(`  ${line}`);
      io.out(`  metrics:     ${info.apiUrl}/metrics (kubectl get --raw /metrics)`);
      if (info.dnsMetricsUrl) io.out(`  DNS metrics: ${info.dnsMetricsUrl}`);
      io.out(`  node agent:  ${info.nodeAgent ? "running" : "not running (pods stay Pending)"}`);
      const oci = /^\[\+\]oci-runtime ok: (.*)$/m.exec(ready?.body ?? "")?.[1];
      if (oci) io.out(`  images:      ${oci}`);
      io.out(`  readyz:      ${ready?.status === 200 ? "ok" : `not ready (${ready?.status})`}`);
      // Every check when one fails, as before; all ok is one word.
      if (ready?.status !== 200) {
        for (const line of (ready?.body ?? "").split("\n").filter((l) => l.startsWith("[")))
          io.out(`    ${line}`);
      }
      const counts = Object.entries(objects ?? {}).map(([k, n]) => `${k} ${n ?? "?"}`);
      io.out(`  objects:     ${counts.join(", ")}`);
    });
}

/** `[+]dns ok` / `[-]node-agent failed: reason` lines of `/readyz?verbose` as objects. */
export function readyzChecks(body: string): Check[] {
  const out: Check[] = [];
  for (const line of body.split("\n")) {
    const m = /^\[([+-])\](\S+) (.*)$/.exec(line.trim());
    if (!m) continue;
    const ok = m[1] === "+";
    const reason = ok ? null : (/^failed: (.*)$/.exec(m[3] ?? "")?.[1] ?? m[3] ?? null);
    out.push({ name: m[2] ?? "", ok, reason });
  }
  return out;
}
