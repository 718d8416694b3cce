/**
 * Pod networks without root, where the kernel lets an unprivileged user create user namespaces.
 *
 * Layout: one "node" namespace per cluster (a user namespace in which this user is root, with a
 * network and a mount namespace of its own), held by a long-lived helper process
 * (podnet_helper.ts) that the agent starts (`setpriv --pdeathsig KILL unshare -r -n -m`). In it:
 * a bridge `lkbr` carrying the nodes' gateways (`.1` of each node's pod range) and a route to the
 * whole pod range in the `local` table, `route_localnet` and `ip_forward` (of the node
 * namespace only). Each pod's namespace is made inside it by `ip netns add` (its bind mount in
 * the helper's own tmpfs on /run, invisible outside) with a veth pair whose node end is a port
 * of the bridge; the pod side is the root layout's (podnet.ts: pod IP on eth0, own `lo`, all of
 * 127.0.0.0/8 through the gateway). Chosen over a veth per pod routed from the host because an
 * unprivileged user has no network outside its own namespaces; the bridge needs one route for
 * every pod.
 *
 * The agent (outside) reaches a pod through `dial(ip, port)`: the helper connects inside the
 * node namespace and hands the connected socket over its IPC channel (SCM_RIGHTS), about a
 * millisecond per connection. Pods reach Services and the cluster DNS through listeners the
 * helper opens on the ClusterIP:ports inside the node namespace (`listen`): each accepted
 * connection is handed to the agent, which joins it to the same address on the host (the
 * userspace proxy's listener) or, for kube-dns, to the DNS server; UDP datagrams (DNS) travel
 * as IPC messages. Containers and port-forward enter a pod's namespace with `nsenter -U
 * --preserve-credentials -t <helper> --net=/proc/<helper>/root/run/netns/<name>`.
 *
 * Nothing is left behind: everything lives in namespaces only the helper and the pods hold, so
 * when the helper exits (on stop, on its channel closing, or by pdeathsig when the agent dies)
 * and the pods' processes are gone, the kernel removes it all. No machine-wide name, no tag file.
 *
 * @module
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import dgram from "node:dgram";
import { existsSync, readFileSync } from "node:fs";
import net from "node:net";
import { which } from "../which.ts";
import {
  type PodNetwork,
  type PodNetworks,
  podNetNames,
  podSideBatch,
  serialByKey,
} from "./podnet.ts";
import { NODE_HELPER } from "./podnet_helper.ts";

const BRIDGE = "lkbr";
const conf = (link: string, key: string) => `/proc/sys/net/ipv4/conf/${link}/${key}`;

/** Why rootless pod networks cannot be used here, or undefined when they can. */
export function rootlessUnsupported(): string | undefined {
  if (process.platform !== "linux") return "pod network namespaces need Linux";
  const path = process.env.PATH ?? "";
  for (const cmd of ["ip", "nsenter", "unshare", "setpriv", "sh", "mount"]) {
    if (!which(cmd, path)) return `rootless pod networks need \`${cmd}\` (iproute2, util-linux)`;
  }
  const read = (p: string) => (existsSync(p) ? readFileSync(p, "utf8").trim() : undefined);
  if (read("/proc/sys/kernel/unprivileged_userns_clone") === "0") {
    return "the kernel does not let unprivileged users create user namespaces (kernel.unprivileged_userns_clone = 0)";
  }
  if (read("/proc/sys/user/max_user_namespaces") === "0") {
    return "user namespaces are turned off (user.max_user_namespaces = 0)";
  }
  if (!existsSync(conf("all", "route_localnet"))) return "the kernel has no route_localnet setting";
  const trial = spawnSync("unshare", ["-r", "-n", "-m", "true"], { stdio: "pipe" });
  if (trial.status !== 0) {
    const why = trial.stderr?.toString().trim() || `exit ${trial.status}`;
    return `an unprivileged user namespace cannot be made here (${why})`;
  }
  return undefined;
}

/** The node namespace's set-up, run by `sh` inside it before it becomes the helper. */
export function nodeSetUpScript(podCidr: string): string {
  return [
    "mount -t tmpfs loopkube /run",
    "ip link set lo up",
    `ip link add ${BRIDGE} type bridge`,
    `ip link set ${BRIDGE} up`,
    "echo 1 > /proc/sys/net/ipv4/ip_forward",
    `echo 1 > ${conf("all", "route_localnet")}`,
    `echo 1 > ${conf(BRIDGE, "route_localnet")}`,
    `ip route add ${podCidr} dev ${BRIDGE} table local`,
    'exec "$0" -e "$1"',
  ].join(" && ");
}

/** One pod's network inside the node namespace: one `ip -batch` run (ip, sh, ip). */
export function rootlessSetUpPlan(
  netns: string,
  link: string,
  ip: string,
  gateway: string,
  o: { podBatchPath: string; addGateway: boolean },
): { batch: string; podBatch: string } {
  const podSysctls = [conf("all", "route_localnet"), conf("eth0", "route_localnet")];
  const enter = [...podSysctls.map((p) => `echo 1 > ${p}`), `exec ip -batch ${o.podBatchPath}`];
  return {
    batch: [
      ...(o.addGateway ? [`addr add ${gateway}/32 dev ${BRIDGE}`] : []),
      `netns add ${netns}`,
      `link add ${link} type veth peer name eth0 netns ${netns}`,
      `link set ${link} master ${BRIDGE} up`,
      `netns exec ${netns} sh -c "${enter.join(" && ")}"`,
      "",
    ].join("\n"),
    podBatch: [...podSideBatch(ip, gateway), ""].join("\n"),
  };
}

/** A listener the helper keeps in the node namespace, and where its traffic goes on the host. */
export interface NodeListener {
  ip: string;
  port: number;
  proto: "TCP" | "UDP";
  target: { host: string; port: number };
  /**
   * TCP connections go to the options' `deliver` first (the service proxy, as if accepted at
   * `target`), then to `target`.
   */
  proxied?: boolean;
}

export interface RootlessPodNetworks extends PodNetworks {
  rootless: true;
  /** The node namespace helper's pid: its user namespace is where rootless containers run. */
  helperPid: number;
  /** Connects to ip:port inside the node namespace (a pod IP), the socket handed over. */
  dial(ip: string, port: number): Promise<net.Socket>;
  /** A UDP socket made in the node namespace, connected to a pod's ip:port. */
  dialUdp(ip: string, port: number): Promise<dgram.Socket>;
  /** Makes the helper's listeners (ClusterIPs, NodePorts, kube-dns) exactly these. */
  listen(wanted: NodeListener[]): void;
}

type Reply = { id?: number; error?: string; code?: string; op?: string; [k: string]: unknown };

export class PodDialError extends Error {
  override name = "PodDialError";
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

/** Starts the node namespace's helper and returns the rootless pod network manager. */
export async function openRootlessPodNetworks(o: {
  podCidr: string;
  onError(e: unknown): void;
  /** Takes a pod's connection to a ClusterIP:port (the service proxy); false: not served. */
  deliver?: (ip: string, port: number, client: net.Socket) => boolean;
}): Promise<RootlessPodNetworks> {
  const child = spawn(
    "setpriv",
    [
      "--pdeathsig",
      "KILL",
      "--",
      "unshare",
      "-r",
      "-n",
      "-m",
      "--propagation",
      "private",
      "--",
      "sh",
      "-c",
      nodeSetUpScript(o.podCidr),
      process.execPath,
      NODE_HELPER,
    ],
    { stdio: ["ignore", "ignore", "pipe", "ipc"] },
  );
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (d: string) => {
    stderr = (stderr + d).slice(-2000);
  });
  // 'exit', not 'close': a child with an IPC channel that we disconnect emits no 'close'.
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stderrDone = new Promise<void>((resolve) => child.stderr?.once("close", resolve));
  await new Promise<void>((resolve, reject) => {
    const onMessage = (m: Reply) => {
      if (m?.op !== "ready") return;
      child.off("message", onMessage);
      resolve();
    };
    child.on("message", onMessage);
    child.once("error", reject);
    void Promise.all([exited, stderrDone]).then(() =>
      reject(new Error(stderr.trim() || "the node namespace helper exited at start")),
    );
  });
  const pid = child.pid as number;
  const nextId = (() => {
    let n = 0;
    return () => ++n;
  })();
  const pending = new Map<number, (m: Reply, handle: unknown) => void>();
  let gone = false;
  void exited.then(() => {
    gone = true;
    for (const [, settle] of pending) settle({ error: "the node namespace helper exited" }, null);
    pending.clear();
  });
  const listeners = new Map<string, NodeListener>();
  const udp = udpRelay(child, listeners);
  void exited.then(() => udp.close());
  child.on("message", (m: Reply, handle: unknown) => {
    // Node makes a received socket without `allowHalfOpen`: a peer's FIN would end our side too.
    if (handle instanceof net.Socket) handle.allowHalfOpen = true;
    if (typeof m?.id === "number") {
      const settle = pending.get(m.id);
      pending.delete(m.id);
      settle?.(m, handle);
    } else if (m?.op === "accepted") {
      relayTcp(listeners, m, handle as net.Socket | undefined, o.deliver);
    } else if (m?.op === "datagram") udp.datagram(m);
  });
  const ask = (m: Record<string, unknown>): Promise<{ m: Reply; handle: unknown }> =>
    new Promise((resolve) => {
      if (gone) return resolve({ m: { error: "the node namespace helper exited" }, handle: null });
      const id = nextId();
      pending.set(id, (r, handle) => resolve({ m: r, handle }));
      child.send({ ...m, id });
    });
  const ipBatch = async (batch: string, files: Record<string, string> = {}) => {
    const { m } = await ask({ op: "ip", batch, files });
    if (m.error) throw new Error(m.error);
  };
  const gateways = new Set<string>();
  const tag = randomBytes(2).toString("hex");
  const holders = new Map<string, PodNetwork>();
  const queue = serialByKey();
  return {
    tag,
    rootless: true,
    helperPid: pid,
    setUp(ip, gateway) {
      const names = podNetNames(tag, ip);
      const path = `/proc/${pid}/root/run/netns/${names.netns}`;
      const enter = ["nsenter", "-t", String(pid), "-U", "--preserve-credentials", `--net=${path}`];
      let released = false;
      const net: PodNetwork = {
        path,
        built: false,
        hostLink: names.hostLink,
        enter: [...enter, "--"],
        ready: queue
          .run(ip, async () => {
            const addGateway = !gateways.has(gateway);
            gateways.add(gateway);
            const podBatchPath = `/run/.${ip}.batch`;
            const plan = rootlessSetUpPlan(names.netns, names.hostLink, ip, gateway, {
              podBatchPath,
              addGateway,
            });
            await ipBatch(plan.batch, { [podBatchPath]: plan.podBatch });
          })
          .then(() => {
            net.built = true;
            return [...enter, "--"];
          }),
        release() {
          if (released || holders.get(ip) !== net) return Promise.resolve();
          released = true;
          net.built = false;
          holders.delete(ip);
          return queue.run(ip, () => ipBatch(`netns del ${names.netns}\n`));
        },
      };
      net.ready.catch(() => {});
      holders.set(ip, net);
      return net;
    },
    async dial(ip, port) {
      const { m, handle } = await ask({ op: "dial", host: ip, port });
      if (m.error || !handle) {
        throw new PodDialError(m.error ?? `no socket for ${ip}:${port}`, m.code);
      }
      return handle as net.Socket;
    },
    async dialUdp(ip, port) {
      const { m, handle } = await ask({ op: "udp" });
      if (m.error || !(handle instanceof dgram.Socket)) {
        throw new PodDialError(m.error ?? `no UDP socket for ${ip}:${port}`, m.code);
      }
      return new Promise((resolve, reject) => {
        const fail = (e: Error) => {
          handle.close();
          reject(e);
        };
        handle.once("error", fail);
        handle.connect(port, ip, (e?: Error) => {
          handle.off("error", fail);
          if (e) fail(e);
          else resolve(handle);
        });
      });
    },
    listen(wanted) {
      const want = new Map(wanted.map((l) => [`${l.proto} ${l.ip}:${l.port}`, l]));
      for (const [k, l] of listeners) {
        if (!want.has(k)) {
          listeners.delete(k);
          if (!gone) child.send({ op: "unlisten", ip: l.ip, port: l.port, proto: l.proto });
        }
      }
      for (const [k, l] of want) {
        const had = listeners.has(k);
        listeners.set(k, l);
        if (had) continue;
        void ask({ op: "listen", ip: l.ip, port: l.port, proto: l.proto }).then(({ m }) => {
          if (m.error) o.onError(new Error(`node namespace: listening on ${k}: ${m.error}`));
        });
      }
    },
    async stop() {
      holders.clear();
      await queue.idle();
      if (!gone) {
        child.disconnect();
        const killer = setTimeout(() => child.kill("SIGKILL"), 2000);
        await exited;
        clearTimeout(killer);
      }
    },
  };
}

/** Joins a connection a pod made to a ClusterIP in the node namespace to its host target. */
function relayTcp(
  listeners: Map<string, NodeListener>,
  m: Reply,
  socket: net.Socket | undefined,
  deliver: ((ip: string, port: number, client: net.Socket) => boolean) | undefined,
) {
  if (!socket) return;
  const l = listeners.get(`TCP ${m.ip}:${m.port}`);
  if (!l) return socket.destroy();
  if (l.proxied && deliver?.(l.target.host, l.target.port, socket)) return;
  const upstream = net.connect({ host: l.target.host, port: l.target.port, allowHalfOpen: true });
  upstream.setNoDelay(true);
  socket.setNoDelay(true);
  const end = (a: net.Socket, b: net.Socket) => {
    a.on("error", () => b.resetAndDestroy());
    a.once("close", () => {
      if (!a.readableEnded) b.destroy();
    });
  };
  end(socket, upstream);
  end(upstream, socket);
  upstream.once("connect", () => {
    socket.pipe(upstream);
    upstream.pipe(socket);
    socket.resume();
  });
}

/** How long a pod's UDP flow through a node listener lives without a datagram (conntrack's). */
const UDP_FLOW_IDLE_MS = 30_000;

/**
 * Relays pods' datagrams to listeners' host targets, one flow (a host socket) per pod address,
 * port and listener, so that every answer a target sends comes back, not only the first.
 */
function udpRelay(child: ChildProcess, listeners: Map<string, NodeListener>) {
  type Flow = { socket: dgram.Socket; timer: NodeJS.Timeout; pending: Buffer[] | undefined };
  const flows = new Map<string, Flow>();
  const open = (key: string, m: Reply, l: NodeListener): Flow => {
    const socket = dgram.createSocket("udp4");
    const flow = {
      socket,
      timer: setTimeout(() => end(), UDP_FLOW_IDLE_MS),
      /** Datagrams that came before the socket was connected; undefined once it is. */
      pending: [] as Buffer[] | undefined,
    };
    const end = () => {
      clearTimeout(flow.timer);
      if (flows.get(key) !== flow) return;
      flows.delete(key);
      socket.close();
    };
    socket.on("error", end);
    socket.on("message", (data) => {
      flow.timer.refresh();
      if (!child.connected) return;
      child.send({
        op: "reply",
        ip: m.ip,
        port: m.port,
        to: m.from,
        toPort: m.fromPort,
        data: data.toString("base64"),
      });
    });
    socket.connect(l.target.port, l.target.host, () => {
      for (const d of flow.pending ?? []) socket.send(d);
      flow.pending = undefined;
    });
    flows.set(key, flow);
    return flow;
  };
  return {
    datagram(m: Reply) {
      const l = listeners.get(`UDP ${m.ip}:${m.port}`);
      if (!l || typeof m.data !== "string") return;
      const key = `${m.ip}:${m.port} ${m.from}:${m.fromPort}`;
      const flow = flows.get(key) ?? open(key, m, l);
      flow.timer.refresh();
      const data = Buffer.from(m.data, "base64");
      if (flow.pending) flow.pending.length < 256 && flow.pending.push(data);
      else flow.socket.send(data);
    },
    close() {
      for (const f of flows.values()) {
        clearTimeout(f.timer);
        f.socket.close();
      }
      flows.clear();
    },
  };
}
