/**
 * Pod networks as root: each pod (but hostNetwork ones) in a network namespace of its own, with
 * its pod IP on `eth0` and its own `lo`, shared by all its containers (they enter it with
 * `nsenter --net`, as exec, attach and exec probes do with `nsenter -t <pid> -n`).
 *
 * Layout: a veth pair per pod, its host end in the host's namespace. Chosen over a bridge in a
 * per-cluster "node" namespace because the host (the user's shell, the userspace proxy, probes,
 * port-forward) then reaches a pod IP directly, with one kernel hop and no socket hand-over;
 * removing a pod's network is removing one link (its routes and per-link sysctls go with it);
 * and nothing machine-wide is changed. The bridge layout is the one that also works rootless (in
 * a user namespace): podnet_rootless.ts.
 *
 * Pod IPs stay in 127.0.0.0/8, which the kernel never sends off the machine:
 * - host side, per pod: link `lk<tag><ip>` with `route_localnet` and `forwarding` set on that
 *   link only (not the machine's `ip_forward`), and a /32 route to the pod IP through it in the
 *   `local` table (the `local 127.0.0.0/8 dev lo` route there would otherwise win), whose source
 *   is the node's gateway address (`.1` of the node's pod range, which IPAM never hands out);
 * - pod side: `eth0` with the pod IP (scope global) and `route_localnet`; `lo` up with only
 *   127.0.0.1 local (the namespace's `local 127.0.0.0/8` is removed, else every other 127.x
 *   address would be the pod itself); all of 127.0.0.0/8 through the gateway on `eth0`. No
 *   default route: nothing outside 127.0.0.0/8 is reachable from a pod namespace.
 * So from a pod, other pods' IPs, every ClusterIP (the proxy's and DNS's listeners on the host's
 * 127.x addresses) and the node's own 127.x addresses answer; from the host, pod IPs answer as
 * before. 127.0.0.1 in a pod is the pod's own loopback.
 *
 * Names: namespace `loopkube-<tag>-<pod IP>`, host link `lk<tag><ip hex>` (≤ 15 bytes), where
 * `<tag>` is this cluster's (podnet_owner.ts). Every pod's names are removed when its network is
 * torn down, all of them on `stop()`, and a dead cluster's at the next start of any cluster.
 * Set-up and teardown start no process: long-lived helpers per cluster (podnet_fast.ts) do
 * them: a pod's whole set-up is one request to a namespace configurer (two work on a burst),
 * teardowns go to `ip -force -batch -` kept open.
 * Where they cannot be used (no perl, or they keep dying) the agent says so once and falls back
 * to one `ip -batch` spawn per pod (three programs: ip, sh, ip; see `setUpPlan`) and one per
 * burst of teardowns.
 *
 * @module
 */
import { execFile, spawn } from "node:child_process";
import { existsSync, readdirSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { which } from "../which.ts";
import { openPodNetHelpers, type PodNetHelpers } from "./podnet_fast.ts";
import { HelperDied, HelperUnavailable } from "./podnet_longlived.ts";
import {
  claimTag,
  deadTags,
  type OwnerRegistry,
  releaseTag,
  startTimeOf,
  type TagOwner,
} from "./podnet_owner.ts";

export const NETNS_DIR = "/run/netns";
const NS_PREFIX = "loopkube-";
const NS_NAME = /^loopkube-([0-9a-f]{4})-\d+\.\d+\.\d+\.\d+$/;
const LINK_NAME = /^lk([0-9a-f]{4})[0-9a-f]{6}$/;
/**
 * This cluster's nftables tables, in family `ip`: `loopkube-<tag>` (NetworkPolicy,
 * netpol_nft.ts) and `loopkube-<tag>-svc` (kernel ClusterIPs, the proxy's nftables mode).
 */
const TABLE_NAME = /^table ip (loopkube-([0-9a-f]{4})(?:-svc)?)$/;

/** The name of the nftables table of a tag. */
export const nftTableOf = (tag: string) => `loopkube-${tag}`;
/** How long `stop()` lets the kernel destroy deleted namespaces' links before deleting them. */
const LINK_GONE_MS = 5000;

export interface PodNetNames {
  /** The namespace's name (`ip netns`), and its path under /run/netns. */
  netns: string;
  path: string;
  /** The host end of the veth pair. */
  hostLink: string;
}

const hex2 = (n: number) => n.toString(16).padStart(2, "0");

export function podNetNames(tag: string, ip: string): PodNetNames {
  const o = ip.split(".").map(Number);
  if (o.length !== 4 || o[0] !== 127 || o.some((n) => !Number.isInteger(n) || n < 0 || n > 255)) {
    throw new Error(`pod IP ${ip} is not in 127.0.0.0/8`);
  }
  const netns = `${NS_PREFIX}${tag}-${ip}`;
  return {
    netns,
    path: `${NETNS_DIR}/${netns}`,
    hostLink: `lk${tag}${hex2(o[1] ?? 0)}${hex2(o[2] ?? 0)}${hex2(o[3] ?? 0)}`,
  };
}

/** The gateway of a node's pod range: its `.1` (network address + 1), never a pod's. */
export function gatewayOf(cidr: string): string {
  const [base = "", bits = "32"] = cidr.split("/");
  const n = base.split(".").reduce((a, p) => a * 256 + Number(p), 0);
  const size = 2 ** (32 - Number(bits));
  const gw = n - (n % size) + 1;
  return [24, 16, 8, 0].map((s) => Math.floor(gw / 2 ** s) % 256).join(".");
}

const conf = (link: string, key: string) => `/proc/sys/net/ipv4/conf/${link}/${key}`;

/** How one pod's network is built (see the module header). */
export interface SetUpPlan {
  /** With the helpers: the host side's `ip` commands before the pod side (the namespace)… */
  host: string[];
  /**
   * …the pod side, done inside its namespace: the veth pair (its peer to the host), the pod's
   * sysctls (`sysctl PATH 1`), then `podBatch`…
   */
  pod: string[];
  /** …and the host side after it: the host link up, the pod's route. */
  hostAfter: string[];
  /**
   * Without the helpers, with one process start: `ip -batch -` input run in the host's
   * namespace, `host` then a last line that enters the pod's.
   */
  hostBatch: string;
  /** The `ip -batch` file run inside the pod's namespace (written to `podBatchPath`). */
  podBatch: string;
  /** Sysctls of the host link, written by the agent itself once the link exists. */
  hostSysctls: string[];
}

/**
 * The pod side's addresses and routes, as `ip -batch` lines (root and rootless alike): `lo` up
 * with only 127.0.0.1 local, the pod IP on `eth0`, all of 127.0.0.0/8 through the gateway.
 */
export function podSideBatch(ip: string, gateway: string): string[] {
  return [
    "link set lo up",
    "link set eth0 up",
    `addr add ${ip}/32 dev eth0 scope global`,
    "route del local 127.0.0.0/8 dev lo table local",
    `route add ${gateway} dev eth0 scope link src ${ip}`,
    `route add 127.0.0.0/8 via ${gateway} dev eth0 src ${ip}`,
  ];
}

/**
 * One pod's network: the namespace (`host`), then inside it the veth pair, the pod side's two
 * sysctls and its addresses and routes (`pod`), then the host link's route (`hostAfter`), sent
 * to the long-lived helpers. Without
 * them, in one `ip -batch` run: the host side, then (`netns exec`, which forks a shell in the
 * new namespace) the sysctls as shell builtins and one more `ip -batch`: three programs (ip, sh,
 * ip). Names of the same pod IP left by a dead run of this cluster are removed first
 * (`leftovers`).
 */
export function setUpPlan(
  names: PodNetNames,
  ip: string,
  gateway: string,
  o: { podBatchPath: string; leftovers: { link: boolean; netns: boolean } },
): SetUpPlan {
  const podSysctls = [conf("all", "route_localnet"), conf("eth0", "route_localnet")];
  const enter = [...podSysctls.map((p) => `echo 1 > ${p}`), `exec ip -batch ${o.podBatchPath}`];
  const host = [
    ...(o.leftovers.link ? [`link del ${names.hostLink}`] : []),
    ...(o.leftovers.netns ? [`netns del ${names.netns}`] : []),
    `netns add ${names.netns}`,
  ];
  const hostAfter = [
    `link set ${names.hostLink} up`,
    `route add ${ip}/32 dev ${names.hostLink} src ${gateway} table local`,
  ];
  const pod = podSideBatch(ip, gateway);
  return {
    host,
    pod: [
      `link add eth0 type veth peer name ${names.hostLink} netns host`,
      ...podSysctls.map((p) => `sysctl ${p} 1`),
      ...pod,
    ],
    hostAfter,
    hostBatch: [
      ...host,
      `link add ${names.hostLink} type veth peer name eth0 netns ${names.netns}`,
      ...hostAfter,
      `netns exec ${names.netns} sh -c "${enter.join(" && ")}"`,
      "",
    ].join("\n"),
    podBatch: [...pod, ""].join("\n"),
    hostSysctls: [conf(names.hostLink, "route_localnet"), conf(names.hostLink, "forwarding")],
  };
}

/** `ip -force -batch -` input removing these namespaces and host links (routes go with them). */
export function tearDownBatch(links: string[], namespaces: string[]): string {
  return [
    ...links.map((l) => `link del ${l}`),
    ...namespaces.map((n) => `netns del ${n}`),
    "",
  ].join("\n");
}

/**
 * The loopkube names on the machine, by tag: namespaces (from /run/netns), host links and
 * nftables tables (lines of `nft list tables`).
 */
export function namesOnMachine(
  netnsEntries: string[],
  linkEntries: string[],
  tableLines: string[] = [],
): Map<string, { netns: string[]; links: string[]; tables: string[] }> {
  const byTag = new Map<string, { netns: string[]; links: string[]; tables: string[] }>();
  const of = (tag: string) => {
    const e = byTag.get(tag) ?? { netns: [], links: [], tables: [] };
    byTag.set(tag, e);
    return e;
  };
  for (const n of netnsEntries) {
    const m = NS_NAME.exec(n);
    if (m?.[1]) of(m[1]).netns.push(n);
  }
  for (const l of linkEntries) {
    const m = LINK_NAME.exec(l);
    if (m?.[1]) of(m[1]).links.push(l);
  }
  for (const t of tableLines) {
    const m = TABLE_NAME.exec(t.trim());
    if (m?.[1] && m[2]) of(m[2]).tables.push(m[1]);
  }
  return byTag;
}

const list = (dir: string) => {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
};

/** Why pod network namespaces cannot be used here, or undefined when they can. */
export function podNetworkUnsupported(): string | undefined {
  if (process.platform !== "linux") return "pod network namespaces need Linux";
  if (process.getuid?.() !== 0) {
    return "pod network namespaces need root (podnet_rootless.ts serves other users)";
  }
  const path = process.env.PATH ?? "";
  for (const cmd of ["ip", "nsenter", "sh"]) {
    if (!which(cmd, path)) return `pod network namespaces need \`${cmd}\` (iproute2, util-linux)`;
  }
  if (!existsSync("/proc/sys/net/ipv4/conf/all/route_localnet")) {
    return "the kernel has no route_localnet setting";
  }
  return undefined;
}

/**
 * Runs the work given for one key (a pod IP) one after another: a pod network's teardown waits
 * for its build, a rebuild for the teardown. A key's chain is forgotten once it is idle.
 */
export function serialByKey(): {
  run(key: string, work: () => Promise<void>): Promise<void>;
  /** Settles when every chain queued so far has. */
  idle(): Promise<unknown>;
} {
  const queues = new Map<string, Promise<void>>();
  return {
    run(key, work) {
      const next = (queues.get(key) ?? Promise.resolve()).then(work);
      const settled = next.catch(() => {});
      queues.set(key, settled);
      void settled.then(() => {
        if (queues.get(key) === settled) queues.delete(key);
      });
      return next;
    },
    idle: () => Promise.all([...queues.values()]),
  };
}

/** `nft list tables`, line by line; none where nft is missing or fails. */
function nftTables(): Promise<string[]> {
  if (!which("nft", process.env.PATH ?? "")) return Promise.resolve([]);
  return new Promise((resolve) =>
    execFile("nft", ["list", "tables"], (e, out) => resolve(e ? [] : out.split("\n"))),
  );
}

function run(cmd: string, args: string[], input: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "ignore", "pipe"] });
    let err = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      err += d;
    });
    child.once("error", reject);
    child.once("close", (code) => {
      if (code === 0) resolve();
      else reject(new Error(err.trim() || `${cmd} exited with ${code}`));
    });
    child.stdin.end(input);
  });
}

/** One pod's network namespace. */
export interface PodNetwork {
  /** Resolves, once built, to the `nsenter` prefix that enters it; rejects with why not. */
  ready: Promise<string[]>;
  /** The namespace's path (`/run/netns/…`), and whether it has been built. */
  path: string;
  built: boolean;
  /** The host end of its veth pair. */
  hostLink: string;
  /** The command prefix that runs a program in it (`nsenter … --`). */
  enter: string[];
  /** Removes its namespace, link and route (unless a newer pod has the IP now); idempotent. */
  release(): Promise<void>;
}

export interface PodNetworks {
  /** This cluster's tag, carried by every name it creates. */
  tag: string;
  /**
   * Builds a pod's network namespace, `gateway` being its node's (see `gatewayOf`). Work on one
   * IP is done in order: a pod that takes the IP of one being torn down waits for that.
   */
  setUp(ip: string, gateway: string): PodNetwork;
  /** Removes every name of this cluster, then gives its tag up. */
  stop(): Promise<void>;
}

export interface PodNetworkOptions extends Omit<TagOwner, "pid" | "startTime"> {
  registry: OwnerRegistry;
  onError(e: unknown): void;
  /** Says why the helpers are not used (once); default: `onError`. */
  warn?(message: string): void;
  /**
   * Whether to use the long-lived helpers (default true; false: one spawn per pod, as a bench's
   * "before"; "steps": the helpers, one request per step of a set-up, as a bench's "before").
   */
  helpers?: boolean | "steps";
}

/** The root pod networks, with their helpers' process ids (for tests). */
export interface RootPodNetworks extends PodNetworks {
  /** The running helpers' pids (none before the first pod, or after falling back). */
  helperPids(): number[];
}

/**
 * Claims this cluster's tag, removes dead clusters' leftovers (and this tag's, from a crash), and
 * returns the pod network manager.
 */
export async function openPodNetworks(o: PodNetworkOptions): Promise<RootPodNetworks> {
  const tag = claimTag(
    { pid: process.pid, startTime: startTimeOf("self"), podCidr: o.podCidr, dataDir: o.dataDir },
    o.registry,
  );
  const namesOf = (tags: string[], kind: "links" | "netns") => {
    const onMachine = namesOnMachine(list(NETNS_DIR), list("/sys/class/net"));
    return tags.flatMap((t) => onMachine.get(t)?.[kind] ?? []);
  };
  /**
   * Removes the tags' nftables tables, `ip -batch` files and namespaces, then (after a moment)
   * any link left.
   */
  const removeTags = async (tags: string[]) => {
    for (const f of list(o.registry.dir)) {
      if (tags.some((t) => f.startsWith(`.${t}-`) && f.endsWith(".batch"))) {
        rmSync(join(o.registry.dir, f), { force: true });
      }
    }
    const tables = namesOnMachine([], [], await nftTables()).entries();
    const doomedTables = [...tables].filter(([t]) => tags.includes(t)).flatMap(([, e]) => e.tables);
    if (doomedTables.length > 0) {
      const script = doomedTables.map((t) => `delete table ip ${t}\n`).join("");
      await run("nft", ["-f", "-"], script).catch(o.onError);
    }
    const netns = namesOf(tags, "netns");
    if (netns.length > 0) {
      await run("ip", ["-force", "-batch", "-"], tearDownBatch([], netns)).catch(o.onError);
    }
    for (let waited = 0; waited < LINK_GONE_MS && namesOf(tags, "links").length > 0; waited += 20) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const links = namesOf(tags, "links");
    if (links.length > 0) {
      await run("ip", ["-force", "-batch", "-"], tearDownBatch(links, [])).catch(o.onError);
    }
  };
  const onMachine = namesOnMachine(list(NETNS_DIR), list("/sys/class/net"), await nftTables());
  const dead = deadTags(onMachine.keys(), o.registry, tag);
  await removeTags([...dead, tag]);
  for (const t of dead) releaseTag(t, o.registry);
  let helpers: PodNetHelpers | undefined;
  const fallBack = (why: string) => {
    if (!helpers) return;
    const h = helpers;
    helpers = undefined;
    void h.close();
    const m = `pod networks are built with one \`ip -batch\` process per pod: ${why}`;
    if (o.warn) o.warn(m);
    else o.onError(new Error(m));
  };
  const oneRequest = o.helpers !== "steps";
  if (o.helpers !== false) {
    const h = openPodNetHelpers();
    if (typeof h === "string") fallBack(h);
    else helpers = h;
  }
  /**
   * Runs work on the helpers, again once if one died meanwhile (the work plans from what is on
   * the machine, so it redoes a half-done set-up); false once they cannot be used.
   */
  const onHelpers = async (work: (h: PodNetHelpers) => Promise<void>): Promise<boolean> => {
    for (let attempt = 1; helpers; attempt++) {
      try {
        await work(helpers);
        return true;
      } catch (e) {
        if (e instanceof HelperUnavailable) fallBack(e.message);
        else if (!(e instanceof HelperDied) || attempt >= 2) throw e;
      }
    }
    return false;
  };
  // Started now, so that the first pod does not wait for them.
  await onHelpers((h) =>
    Promise.all([h.host.run([]), h.inNetns.run({ path: "/proc/self/ns/net", lines: [] })]).then(
      () => {},
    ),
  ).catch((e) => fallBack(e instanceof Error ? e.message : String(e)));
  /**
   * Namespaces to delete, gathered for one `ip -batch` run per turn of the event loop: a burst
   * of deletions (a scale-down, `stop()`) costs one request (or process start), not one each.
   */
  let doomed: string[] = [];
  let flushing: Promise<void> | undefined;
  const deleteNetns = (netns: string): Promise<void> => {
    doomed.push(netns);
    flushing ??= new Promise<void>((r) => setImmediate(r)).then(async () => {
      const batch = doomed;
      doomed = [];
      flushing = undefined;
      const present = () => batch.filter((n) => existsSync(`${NETNS_DIR}/${n}`));
      if (
        await onHelpers((h) => h.host.run(tearDownBatch([], present()).split("\n").filter(Boolean)))
      ) {
        return;
      }
      const left = present();
      if (left.length > 0) await run("ip", ["-force", "-batch", "-"], tearDownBatch([], left));
    });
    return flushing;
  };
  const plan = (names: PodNetNames, ip: string, gateway: string, podBatchPath: string) =>
    setUpPlan(names, ip, gateway, {
      podBatchPath,
      leftovers: {
        link: existsSync(`/sys/class/net/${names.hostLink}`),
        netns: existsSync(names.path),
      },
    });
  const build = async (names: PodNetNames, ip: string, gateway: string) => {
    const built = await onHelpers(async (h) => {
      const p = plan(names, ip, gateway, "");
      if (oneRequest) {
        // The whole set-up in one configurer request (podnet_fast.ts): no turn of this event
        // loop between its steps.
        const leftovers = p.host.slice(0, -1);
        if (leftovers.length > 0) await h.host.run(leftovers);
        const after = [...p.hostAfter, ...p.hostSysctls.map((s) => `sysctl ${s} 1`)];
        await h.inNetns.run({ path: names.path, create: true, lines: p.pod, after });
        return;
      }
      await h.host.run(p.host);
      await h.inNetns.run({ path: names.path, lines: p.pod });
      await h.host.run(p.hostAfter);
      for (const path of p.hostSysctls) writeFileSync(path, "1");
    });
    if (!built) await spawnBuild(names, ip, gateway);
  };
  const spawnBuild = async (names: PodNetNames, ip: string, gateway: string) => {
    // Written for a moment beside the owner files (see `setUpPlan`); a crash's is swept.
    const podBatchPath = join(o.registry.dir, `.${tag}-${ip}.batch`);
    const p = plan(names, ip, gateway, podBatchPath);
    writeFileSync(podBatchPath, p.podBatch);
    try {
      await run("ip", ["-batch", "-"], p.hostBatch);
    } finally {
      unlinkSync(podBatchPath);
    }
    for (const path of p.hostSysctls) writeFileSync(path, "1");
  };
  /** Per IP: the pod network now holding it, and the queue of work on it. */
  const holders = new Map<string, PodNetwork>();
  const queue = serialByKey();
  return {
    tag,
    setUp(ip, gateway) {
      const names = podNetNames(tag, ip);
      let released = false;
      const net: PodNetwork = {
        path: names.path,
        built: false,
        hostLink: names.hostLink,
        enter: ["nsenter", `--net=${names.path}`, "--"],
        ready: queue
          .run(ip, () => build(names, ip, gateway))
          .then(() => {
            net.built = true;
            return ["nsenter", `--net=${names.path}`, "--"];
          }),
        release() {
          if (released || holders.get(ip) !== net) return Promise.resolve();
          released = true;
          net.built = false;
          holders.delete(ip);
          // The namespace only: the kernel then destroys it, its veth pair (so the host end and
          // its route) with it, in the background and in batches, where deleting the link
          // itself waits for the network stack to quiesce, link by link. `stop()` checks.
          return queue.run(ip, () => deleteNetns(names.netns));
        },
      };
      net.ready.catch(() => {});
      holders.set(ip, net);
      return net;
    },
    async stop() {
      holders.clear();
      await queue.idle();
      await helpers?.close();
      helpers = undefined;
      await removeTags([tag]);
      releaseTag(tag, o.registry);
    },
    helperPids: () =>
      [helpers?.host.pid(), helpers?.inNetns.pid()].filter((p): p is number => p !== undefined),
  };
}

/** Runs `ip route get <ip>` and returns the device the kernel would send to it on. */
export function routeDevice(ip: string, netns?: string): Promise<string> {
  const args = [...(netns ? ["-n", netns] : []), "-o", "route", "get", ip];
  return new Promise((resolve, reject) =>
    execFile("ip", args, (e, out) => {
      if (e) return reject(e);
      const m = / dev (\S+)/.exec(out);
      if (!m?.[1]) return reject(new Error(`no device in: ${out.trim()}`));
      resolve(m[1]);
    }),
  );
}
