/**
 * `loopkube list` (and `loopkube get clusters`, kind's spelling): every cluster of this user with
 * its state, API URL, data dir, address ranges, node count and age — like `k3d cluster list` and
 * `minikube profile list`. `-o json|yaml` prints a `ClusterList` whose items all have the same
 * keys (src/cluster/clusters.ts); `-o name` prints the names alone, one a line, as `kind get
 * clusters` does (the shell completions read it). Running clusters whose data dir lies elsewhere
 * (`--data-dir`, `--ephemeral`, a library's) come from the address range registry.
 *
 * The node count of a running cluster is asked of its API server (a list of Nodes, 5 s at most);
 * a stopped cluster's is unknown.
 *
 * @module
 */
import { Argument, type Command } from "commander";
import { sinceTimestamp } from "../api/duration.ts";
import { REFS } from "../api/refs.ts";
import { createHttpClient, loadKubeconfigFile } from "../client/index.ts";
import { type ClusterRecord, collectClusters, leasedClusters } from "../cluster/index.ts";
import {
  API_VERSION,
  formatColumns,
  NONE,
  type OutputFormat,
  outputOption,
  printObject,
} from "./_output.ts";
import type { Io } from "./_shared.ts";

const NODE_COUNT_TIMEOUT_MS = 5000;

export function addListCommand(program: Command, io: Io): void {
  program
    .command("list")
    .description("list clusters: state, API URL, data dir, address ranges, nodes, age")
    .addOption(outputOption(["name"]))
    .action((o: { output?: OutputFormat | "name" }) => listClusters(o.output, io));
  program
    .command("get")
    .description("`get clusters`: the same as `list`, as kind spells it")
    .addArgument(new Argument("<resource>", "what to list").choices(["clusters"]))
    .addOption(outputOption(["name"]))
    .action((_resource: string, o: { output?: OutputFormat | "name" }) =>
      listClusters(o.output, io),
    );
}

async function listClusters(output: OutputFormat | "name" | undefined, io: Io): Promise<void> {
  const records = await withNodeCounts(collectClusters({ registered: leasedClusters }));
  if (output === "json" || output === "yaml") {
    printObject(io, output, { apiVersion: API_VERSION, kind: "ClusterList", items: records });
    return;
  }
  if (output === "name") {
    for (const r of records) io.out(r.name);
    return;
  }
  if (records.length === 0) {
    io.err("No clusters found.");
    return;
  }
  io.out(clusterTable(records, Date.now()));
}

export function clusterTable(records: readonly ClusterRecord[], now: number): string {
  const header = [
    "NAME",
    "STATE",
    "API-URL",
    "DATA-DIR",
    "POD-CIDR",
    "SERVICE-CIDR",
    "NODES",
    "AGE",
  ];
  const rows = records.map((r) => [
    r.name,
    r.state,
    r.state === "running" ? (r.apiUrl ?? NONE) : NONE,
    r.dataDir,
    r.podCidr ?? NONE,
    r.serviceCidr ?? NONE,
    r.nodes === null ? NONE : String(r.nodes),
    sinceTimestamp(r.createdAt, now),
  ]);
  return formatColumns(header, rows);
}

/** Running clusters get their node count from their API server, when it answers in time. */
async function withNodeCounts(records: ClusterRecord[]): Promise<ClusterRecord[]> {
  return Promise.all(
    records.map(async (r) => {
      if (r.state !== "running" || r.nodes !== null || !r.kubeconfigPath) return r;
      return { ...r, nodes: await countNodes(r.kubeconfigPath) };
    }),
  );
}

async function countNodes(kubeconfigPath: string): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), NODE_COUNT_TIMEOUT_MS);
  });
  try {
    const client = createHttpClient(loadKubeconfigFile(kubeconfigPath));
    const count = client.list(REFS.nodes, "").then(
      (l) => l.items.length,
      () => null,
    );
    return await Promise.race([count, timeout]);
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}
