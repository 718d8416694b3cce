/**
 * `loopkube up`: starts a cluster in the foreground (until SIGINT/SIGTERM, then a graceful stop;
 * a second signal forces) or, with `--detach`, re-runs itself in the background with its output
 * in `<data-dir>/loopkube.log` and returns once `/readyz` answers ok.
 *
 * With `-f`, manifests are applied once the cluster is ready, waited for when a node agent runs
 * pods, and summed up in a table of Services, DNS names and endpoints.
 *
 * @module
 */
import type { Command } from "commander";
import { InvalidArgumentError, Option } from "commander";
import { DEFAULT_CLUSTER_DOMAIN, DEFAULT_RANGES } from "../api/addressplan.ts";
import {
  type Cluster,
  ClusterError,
  type ClusterOptions,
  contextName,
  defaultUserKubeconfig,
  describeRanges,
  describeServices,
  formatServiceTable,
  isClusterError,
  isLogLevel,
  type LogLevel,
  readManifests,
  startCluster,
  suggestedCommands,
} from "../cluster/index.ts";
import { configField, readClusterConfig } from "./_config.ts";
import { detach } from "./_detach.ts";
import { createLog, effectiveLevel, type LogFormat, outputIo, useColor } from "./_log.ts";
import { DEFAULT_NAME, dataDirOf, formatMs, type Io, parsePort } from "./_shared.ts";

export interface UpOptions {
  name: string;
  dataDir?: string;
  ephemeral?: boolean;
  runtime: "auto" | "process" | "simulated" | "oci";
  insecureRegistry: string[];
  podNetwork?: "netns" | "host" | "auto";
  proxyMode?: "userspace" | "nftables" | "auto";
  nodes: number;
  apiPort?: number;
  dnsPort?: number;
  dnsMetricsPort?: number;
  ui: boolean;
  uiPort?: number;
  clusterDomain: string;
  serviceCidr?: string;
  podCidr?: string;
  filename: string[];
  wait?: boolean;
  detach?: boolean;
  kubeconfigUpdate: boolean;
  logLevel: string;
  config?: string;
  quiet?: boolean;
  verbose: number;
  logFormat: LogFormat;
  color: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function addUpCommand(program: Command, io: Io): void {
  program
    .command("up")
    .description("start a cluster (foreground until Ctrl-C, or in the background with --detach)")
    .option("--name <name>", "cluster name", DEFAULT_NAME)
    .option("--data-dir <dir>", "data directory (default: under the XDG data home, per name)")
    .option("--ephemeral", "memory store and a temporary data dir, removed on stop")
    .addOption(
      new Option(
        "--runtime <runtime>",
        "how pods run unless their RuntimeClass says: auto (oci where it can run, else process; an unreachable registry runs a pod's commands from the host), process (the host is the image), simulated, or oci (each container from its image with crun or runc; without root, crun in a user namespace, no resource limits)",
      )
        .choices(["auto", "process", "simulated", "oci"])
        .default("auto"),
    )
    .option(
      "--insecure-registry <host>",
      "a registry (host:port) pods' images are pulled from over plain HTTP (loopback ones always are; repeatable)",
      collect,
      [],
    )
    .addOption(
      new Option(
        "--pod-network <mode>",
        "netns: a network namespace per pod (root, or rootless in a user namespace); host: pods share the host's; auto: netns where it works",
      ).choices(["auto", "netns", "host"]),
    )
    .addOption(
      new Option(
        "--proxy-mode <mode>",
        "nftables: pods reach ClusterIPs through kernel DNAT (root, nft, pod network namespaces); userspace: listeners on the host; auto (default): nftables where it works, else userspace",
      ).choices(["auto", "userspace", "nftables"]),
    )
    .option(
      "--nodes <n>",
      "simulated nodes of 110 pods each: <name>, <name>-2, … (needs --runtime simulated)",
      parseCount,
      1,
    )
    .option(
      "--api-port <port>",
      "API server port (default 6443, or a free one when 6443 is taken; 0: any free port)",
      parsePort,
    )
    .option(
      "--dns-port <port>",
      "DNS port on 127.0.0.1 (default 53, or a free one when 53 is taken or needs root; 0: any free port)",
      parsePort,
    )
    .option(
      "--dns-metrics-port <port>",
      "port of the DNS server's Prometheus /metrics on 127.0.0.1 (default 0: any free port)",
      parsePort,
    )
    .option(
      "--ui-port <port>",
      "port of the read-only web view on 127.0.0.1 (default 0: any free port; its URL carries a token)",
      parsePort,
    )
    .option("--no-ui", "do not serve the web view")
    .option("--cluster-domain <domain>", "cluster DNS domain", DEFAULT_CLUSTER_DOMAIN)
    .option(
      "--service-cidr <cidr>",
      `Service ClusterIP range (default: the first free one from ${DEFAULT_RANGES.serviceCidr}, or the data dir's)`,
    )
    .option(
      "--pod-cidr <cidr>",
      `pod IP range (default: the first free one from ${DEFAULT_RANGES.podCidr}, or the data dir's)`,
    )
    .option(
      "-f, --filename <path>",
      "manifest file or folder to apply once ready (repeatable)",
      collect,
      [],
    )
    .option("--wait", "fail unless what -f applied becomes ready")
    .option("--detach", "run in the background (pid and log file in the data dir)")
    .option("--no-kubeconfig-update", "do not add the loopkube-<name> context to ~/.kube/config")
    .addOption(
      new Option("--log-level <level>", "log verbosity")
        .choices(["error", "warn", "info", "debug"])
        .default("warn"),
    )
    .addOption(
      new Option("-q, --quiet", "log errors only (--log-level error)").conflicts([
        "verbose",
        "logLevel",
      ]),
    )
    .addOption(
      new Option("-v, --verbose", "log more: -v info, -vv debug")
        .argParser((_: unknown, previous: number) => previous + 1)
        .default(0)
        .conflicts("logLevel"),
    )
    .addOption(
      new Option("--log-format <format>", "text, or json: one JSON object per line")
        .choices(["text", "json"])
        .default("text"),
    )
    .option("--no-color", "no colour (also: NO_COLOR set, or output not a terminal)")
    .option("--config <file>", "cluster config file (kind: Cluster); flags given override it")
    .action(async (given: UpOptions, cmd: Command) => {
      const { options: o, summary } = withConfig(given, cmd);
      const out = outputIo(io, o.logFormat, "up");
      const level = effectiveLevel({ ...o, logLevel: o.logLevel as LogLevel });
      const log = createLog({
        level,
        format: o.logFormat,
        color: useColor({ flag: o.color, env: process.env, isTTY: process.stderr.isTTY === true }),
        write: io.err,
      });
      if (summary) log("info", `up: ${summary}`);
      log("debug", `up: options ${JSON.stringify(cmd.opts())}`);
      try {
        if (o.detach) {
          if (o.ephemeral) {
            throw new ClusterError(
              "--detach needs a data dir that outlives this command; drop --ephemeral or run in the foreground",
            );
          }
          await detach(dataDirOf(o), o.name, out);
          return;
        }
        await runForeground({ ...o, logLevel: level }, out, log);
      } catch (err) {
        // In JSON, the last word is a record too (main() would print it as text).
        if (o.logFormat !== "json" || !isClusterError(err)) throw err;
        out.err(err.message);
        io.setExitCode(1);
      }
    });
}

/** The options with the config file's settings under those given on the command line. */
/**
 * The options with the config file's settings under those given on the command line, and a
 * summary: `config F sets spec.a, spec.b; flags override metadata.name`, in the file's order.
 */
function withConfig(given: UpOptions, cmd: Command): { options: UpOptions; summary?: string } {
  if (!given.config) return { options: given };
  const values = readClusterConfig(given.config);
  for (const [key, value] of Object.entries(values)) {
    if (cmd.getOptionValueSource(key) !== "cli") cmd.setOptionValueWithSource(key, value, "config");
  }
  const from = (source: string) =>
    Object.keys(values)
      .filter((k) => cmd.getOptionValueSource(k) === source)
      .map(configField);
  const overridden = from("cli");
  const sets = `config ${given.config} sets ${from("config").join(", ") || "nothing"}`;
  return {
    options: cmd.opts<UpOptions>(),
    summary: overridden.length > 0 ? `${sets}; flags override ${overridden.join(", ")}` : sets,
  };
}

function parseCount(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw new InvalidArgumentError("not a count (1 or more).");
  return n;
}

function clusterOptions(o: UpOptions, log: ClusterOptions["log"]): ClusterOptions {
  return {
    name: o.name,
    ...(o.ephemeral ? { ephemeral: true } : { dataDir: dataDirOf(o) }),
    runtime: o.runtime,
    ...(o.insecureRegistry?.length ? { insecureRegistries: o.insecureRegistry } : {}),
    ...(o.podNetwork ? { podNetwork: o.podNetwork } : {}),
    ...(o.proxyMode ? { proxyMode: o.proxyMode } : {}),
    nodes: o.nodes,
    ...(o.apiPort !== undefined ? { apiPort: o.apiPort } : {}),
    ...(o.dnsPort !== undefined ? { dnsPort: o.dnsPort } : {}),
    ...(o.dnsMetricsPort !== undefined ? { dnsMetricsPort: o.dnsMetricsPort } : {}),
    ui: o.ui === false ? false : { port: o.uiPort ?? 0 },
    clusterDomain: o.clusterDomain,
    ...(o.serviceCidr !== undefined ? { serviceCidr: o.serviceCidr } : {}),
    ...(o.podCidr !== undefined ? { podCidr: o.podCidr } : {}),
    updateKubeconfig: o.kubeconfigUpdate,
    ...(isLogLevel(o.logLevel) ? { logLevel: o.logLevel } : {}),
    ...(log ? { log } : {}),
  };
}

async function runForeground(o: UpOptions, io: Io, log: ClusterOptions["log"]): Promise<void> {
  // Read manifests first: a bad one is reported before anything starts.
  const manifests = readManifests(o.filename);
  const t0 = performance.now();
  io.out(`Starting cluster "${o.name}"${o.ephemeral ? " (ephemeral)" : ` in ${dataDirOf(o)}`}`);
  const cluster = await startCluster({
    ...clusterOptions(o, log),
    onStep: (step, ms) => io.out(` ✓ ${step.padEnd(20)} ${formatMs(ms).padStart(8)}`),
  });
  const stopOnSignals = waitForSignals(cluster, io);
  try {
    io.out(`Cluster "${o.name}" is ready in ${formatMs(performance.now() - t0)}`);
    io.out(`  API server:  ${cluster.apiUrl}`);
    io.out(`  kubeconfig:  ${cluster.kubeconfigPath}`);
    if (o.kubeconfigUpdate) {
      io.out(
        `               (context ${contextName(o.name)} merged into ${defaultUserKubeconfig()} and made current)`,
      );
    }
    io.out(`  DNS:         ${cluster.dnsAddress.host}:${cluster.dnsAddress.port}`);
    if (cluster.uiUrl) io.out(`  web view:    ${cluster.uiUrl}`);
    for (const line of describeRanges(cluster.addresses)) io.out(`  ${line}`);
    if (!cluster.hasNodeAgent) {
      io.out("  node agent:  not running in this build: pods stay Pending");
    }
    if (manifests.length > 0) await applyAndSummarize(cluster, manifests, o, io);
    io.out("Press Ctrl-C to stop.");
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  await stopOnSignals;
}

async function applyAndSummarize(
  cluster: Cluster,
  manifests: ReturnType<typeof readManifests>,
  o: UpOptions,
  io: Io,
): Promise<void> {
  const applied = await cluster.apply(manifests.map((m) => m.object));
  for (const obj of applied) {
    io.out(
      `  applied ${obj.kind} ${obj.metadata.namespace ? `${obj.metadata.namespace}/` : ""}${obj.metadata.name}`,
    );
  }
  if (cluster.hasNodeAgent) {
    const t = performance.now();
    try {
      await cluster.waitReady(applied);
      io.out(`  ready in ${formatMs(performance.now() - t)}`);
    } catch (err) {
      if (o.wait) throw err;
      io.out(`  warning: ${(err as Error).message}`);
    }
  } else if (o.wait) {
    throw new ClusterError("--wait cannot be met: no node agent runs pods in this build");
  }
  const services = applied
    .filter((x) => x.kind === "Service")
    .map((x) => ({ namespace: x.metadata.namespace ?? "default", name: x.metadata.name ?? "" }));
  if (services.length === 0) return;
  const rows = await describeServices(cluster.client, services, {
    clusterDomain: cluster.addresses.clusterDomain,
  });
  io.out("");
  io.out(formatServiceTable(rows));
  io.out("");
  io.out("Try:");
  for (const cmd of suggestedCommands(rows, {
    kubeconfigPath: cluster.kubeconfigPath,
    dns: cluster.dnsAddress,
  })) {
    io.out(`  ${cmd}`);
  }
}

/** Resolves after the cluster stopped on SIGINT/SIGTERM; a second signal exits at once. */
function waitForSignals(cluster: Cluster, io: Io): Promise<void> {
  return new Promise((resolve, reject) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        io.out(`${signal} again: exiting without waiting for pods`);
        process.exit(130);
      }
      stopping = true;
      io.out(`${signal}: stopping cluster (again to force)`);
      cluster.stop().then(() => {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
        io.out("stopped");
        resolve();
      }, reject);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
}
