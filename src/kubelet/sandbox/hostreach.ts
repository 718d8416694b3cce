/**
 * Pod IPs answering from the host (the user's shell) in rootless pod networks.
 *
 * Without root the host has no route into the user's namespaces: a pod is reached only through
 * `dial(ip, port)` (podnet_rootless.ts: the node namespace's helper connects and hands the
 * socket over). But pod IPs are 127.x addresses, which any user may bind on the host's `lo` at a
 * port >= 1024. So for each rootless pod this module listens on `<pod IP>:<port>` on the host and
 * joins each accepted connection to one made by `dial` (half-close kept, a refused dial resets
 * the client as a closed port would). The ports are the pod's declared TCP `containerPorts` at
 * once, and those it actually listens on, read every `pollMs` (1 s) from `/proc/<pid>/net/tcp`
 * and `tcp6` of one of its processes whose network namespace is the pod's (proc_net_tcp.ts:
 * wildcard or pod-IP listeners only; a server on the pod's 127.0.0.1 stays private, as on a real
 * cluster). A port no longer declared nor listened on is closed; `remove` closes a pod's all.
 * UDP: the declared UDP containerPorts only (hostreach_udp.ts relays each client's flow through a
 * socket `dialUdp` connects in the node namespace); in /proc/net/udp an unconnected client socket
 * looks the same as a server, so discovery is TCP only.
 *
 * A port below 1024 cannot be bound without privileges: one info line per pod and port, as the
 * userspace proxy reports its ClusterIP listeners (the pod answers there from pods, through its
 * Services and port-forward). An address already taken (another program on the host): one
 * warning, tried again every `retryMs` (10 s). Nothing here throws into the caller.
 *
 * @module
 */

import type dgram from "node:dgram";
import { readFile, readlink, stat } from "node:fs/promises";
import net from "node:net";
import type { Pod } from "kubernetes-types/core/v1.js";
import { listenUdpReach } from "./hostreach_udp.ts";
import { listeningPorts } from "./proc_net_tcp.ts";

export interface ReachablePod {
  /** `namespace/name`, for the log lines. */
  name: string;
  ip: string;
  /** Declared TCP containerPorts: listened on from the start. */
  declared: number[];
  /** Declared UDP containerPorts (only these: in /proc/net/udp a client looks like a server). */
  declaredUdp?: number[];
  /** The pod's network namespace (a path `stat` reaches: its inode names the namespace). */
  netnsPath: string;
  /** The pod's container processes now (one of them inside `netnsPath` is read). */
  pids(): number[];
}

export interface HostReachOptions {
  dial(ip: string, port: number): Promise<net.Socket>;
  /** A UDP socket connected to a pod's ip:port; without it, no UDP listeners. */
  dialUdp?: (ip: string, port: number) => Promise<dgram.Socket>;
  info(message: string): void;
  warn(message: string): void;
  pollMs?: number;
  retryMs?: number;
  now?: () => number;
}

export interface HostReach {
  /** Starts (or keeps) the listeners of the pod `owner` stands for. */
  add(owner: object, pod: ReachablePod): void;
  /** Closes the pod's listeners. */
  remove(owner: object): void;
  /** The listeners open for a pod now (`TCP 8080`, `UDP 53`; tests, status). */
  ports(owner: object): string[];
  stop(): Promise<void>;
}

/** A pod as this module follows it: its declared TCP containerPorts (also init containers'). */
export function reachableOf(
  pod: Pod,
  o: { ip: string; netnsPath: string; pids: () => number[] },
): ReachablePod {
  const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  const ports = (proto: string) =>
    wantedPorts(
      containers.flatMap((c) =>
        (c.ports ?? []).filter((p) => (p.protocol ?? "TCP") === proto).map((p) => p.containerPort),
      ),
      [],
    );
  const name = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
  return { name, declared: ports("TCP"), declaredUdp: ports("UDP"), ...o };
}

/** The ports to listen on: declared ones and discovered ones, ascending, each once. */
export function wantedPorts(declared: readonly number[], listening: readonly number[]): number[] {
  const all = new Set([...declared, ...listening].filter((p) => p > 0 && p < 65536));
  return [...all].sort((a, b) => a - b);
}

type Listener = {
  state: "opening" | "open" | "failed";
  /** Set once it is no longer wanted: a bind that completes afterwards is released at once. */
  closed: boolean;
  release?: () => void;
  code?: string;
  failedAt?: number;
};
/** A listener's key: `TCP 8080`, `UDP 53`. */
type Key = `${"TCP" | "UDP"} ${number}`;
type Entry = {
  pod: ReachablePod;
  listeners: Map<Key, Listener>;
  /** Codes already logged per port (one line each, until the port is no longer wanted). */
  told: Map<Key, string>;
  /** `net:[inode]` of the pod's namespace once known; a pid found in it last time. */
  netns?: string;
  pid?: number;
  discovered: number[];
};

/** Starts following nothing; `add` pods as their networks come up. */
export function startHostReach(o: HostReachOptions): HostReach {
  const pollMs = o.pollMs ?? 1000;
  const retryMs = o.retryMs ?? 10_000;
  const now = o.now ?? Date.now;
  const entries = new Map<object, Entry>();
  let stopped = false;
  let polling = false;

  const close = (l: Listener) => {
    l.closed = true;
    l.release?.();
  };

  const report = (e: Entry, key: Key, code: string, message: string) => {
    if (e.told.get(key) === code) return;
    e.told.set(key, code);
    const [proto, port] = key.split(" ");
    const where = `pod ${e.pod.name}: cannot listen on ${proto} ${e.pod.ip}:${port} on the host`;
    if (code === "EACCES") {
      o.info(
        `${where}: EACCES (ports below 1024 need privileges: lower net.ipv4.ip_unprivileged_port_start or grant CAP_NET_BIND_SERVICE); from the host it answers there only through its Services and port-forward`,
      );
    } else if (code === "EADDRINUSE") {
      o.warn(
        `${where}: EADDRINUSE (another process holds this address); tried again every ${retryMs / 1000} s`,
      );
    } else o.warn(`${where}: ${message}`);
  };

  const open = (e: Entry, key: Key) => {
    const l: Listener = { state: "opening", closed: false };
    e.listeners.set(key, l);
    const port = Number(key.split(" ")[1]);
    const failed = (err: NodeJS.ErrnoException) => {
      close(l);
      l.state = "failed";
      l.code = err.code ?? "error";
      l.failedAt = now();
      report(e, key, l.code, err.message);
    };
    const opened = () => {
      // Closed while binding (a TCP server closed before its bind completes still binds).
      if (l.closed || e.listeners.get(key) !== l || stopped) return close(l);
      l.state = "open";
      e.told.delete(key);
    };
    if (key.startsWith("UDP")) {
      const dialUdp = o.dialUdp;
      if (!dialUdp) return failed(new Error("no UDP dialler"));
      listenUdpReach({ ip: e.pod.ip, port }, { dialUdp }).then((h) => {
        l.release = () => h.close();
        opened();
      }, failed);
      return;
    }
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) =>
      relay(client, o.dial(e.pod.ip, port)),
    );
    l.release = () => {
      server.removeAllListeners("connection");
      server.close();
    };
    server.on("error", failed);
    server.listen({ host: e.pod.ip, port, exclusive: true }, opened);
  };

  /** Makes a pod's listeners exactly its wanted ports (failed ones retried when due). */
  const sync = (e: Entry) => {
    if (stopped) return;
    const want = new Set<Key>([
      ...wantedPorts(e.pod.declared, e.discovered).map((p): Key => `TCP ${p}`),
      ...(o.dialUdp ? wantedPorts(e.pod.declaredUdp ?? [], []).map((p): Key => `UDP ${p}`) : []),
    ]);
    for (const [port, l] of e.listeners) {
      const retry =
        l.state === "failed" &&
        l.code !== "EACCES" &&
        now() - (l.failedAt ?? 0) >= retryMs &&
        want.has(port);
      if (want.has(port) && !retry) continue;
      e.listeners.delete(port);
      close(l);
      if (!want.has(port)) e.told.delete(port);
    }
    for (const port of want) if (!e.listeners.has(port)) open(e, port);
  };

  /** The pod's listening ports from a process in its namespace, or undefined if none is. */
  const discover = async (e: Entry): Promise<number[] | undefined> => {
    if (!e.netns) {
      const s = await stat(e.pod.netnsPath).catch(() => undefined);
      if (!s) return undefined;
      e.netns = `net:[${s.ino}]`;
    }
    const candidates = [...new Set([e.pid, ...e.pod.pids()])].filter(
      (p): p is number => typeof p === "number" && p > 0,
    );
    for (const pid of candidates) {
      // A process that has not entered the pod's namespace yet shows another's table.
      if ((await readlink(`/proc/${pid}/ns/net`).catch(() => undefined)) !== e.netns) continue;
      const tables = await Promise.all(
        ["tcp", "tcp6"].map((t) => readFile(`/proc/${pid}/net/${t}`, "utf8").catch(() => "")),
      );
      // Read again after: the pid may have exited and been reused meanwhile.
      if ((await readlink(`/proc/${pid}/ns/net`).catch(() => undefined)) !== e.netns) continue;
      e.pid = pid;
      return wantedPorts(
        [],
        tables.flatMap((t) => listeningPorts(t, e.pod.ip)),
      );
    }
    return undefined;
  };

  const poll = async () => {
    if (polling || stopped) return;
    polling = true;
    try {
      for (const [owner, e] of entries) {
        const found = await discover(e).catch(() => undefined);
        if (entries.get(owner) !== e || stopped) continue;
        e.discovered = found ?? [];
        sync(e);
      }
    } finally {
      polling = false;
    }
  };
  const timer = setInterval(() => void poll(), pollMs);
  timer.unref();
  const remove = (owner: object) => {
    const e = entries.get(owner);
    if (!e) return;
    entries.delete(owner);
    for (const l of e.listeners.values()) close(l);
    e.listeners.clear();
  };

  return {
    add(owner, pod) {
      if (stopped || entries.has(owner)) return;
      const e: Entry = { pod, listeners: new Map(), told: new Map(), discovered: [] };
      entries.set(owner, e);
      sync(e);
    },
    remove,
    ports(owner) {
      const e = entries.get(owner);
      if (!e) return [];
      return [...e.listeners].filter(([, l]) => l.state === "open").map(([k]) => k);
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      for (const owner of [...entries.keys()]) remove(owner);
    },
  };
}

/** Joins a host client to the pod connection `dialled` makes, both ways, half-close kept. */
function relay(client: net.Socket, dialled: Promise<net.Socket>) {
  client.on("error", () => {});
  dialled.then(
    (upstream) => {
      if (client.destroyed) return upstream.destroy();
      upstream.allowHalfOpen = true;
      upstream.setNoDelay(true);
      client.setNoDelay(true);
      const join = (a: net.Socket, b: net.Socket) => {
        a.on("error", () => b.resetAndDestroy());
        a.once("close", () => {
          if (!a.readableEnded) b.destroy();
        });
      };
      join(client, upstream);
      join(upstream, client);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    },
    // Nothing listens there in the pod (or it is gone): reset, as a closed port answers.
    () => client.resetAndDestroy(),
  );
}
