/**
 * The service proxy against a running cluster with real pods (issue 6's live acceptance): curl
 * (Node http where curl is missing) through a ClusterIP:80 reaches pods on targetPort 8080 and
 * every replica in turn; a NodePort answers on the node IP; a LoadBalancer's ingress IP shows in
 * `kubectl get svc` and answers; ClientIP affinity pins each client; a Service without endpoints
 * resets; UDP echo answers from the Service address; 100 MB come back byte-identical; failing
 * connections leave the others alone; a deleted endpoint's connections are closed, a terminating
 * one's kept; the `kubernetes` and `kube-dns` Services reach the API and DNS servers; a pod made
 * unready stops getting new connections within a few probe periods and gets them again after;
 * scaling to 0 resets new connections. Beyond the issue's list: connections a ready pod refuses
 * go on to the next pod (200 at once), Local traffic policies serve this node's pods, a Local
 * LoadBalancer's health check counts them, a pod reaches itself through its Service, and a
 * LoadBalancer's `loadBalancerSourceRanges` let a client inside them in at the ingress IP and
 * reset one outside (served at the ClusterIP).
 *
 * The 300-connection spread over three replicas lives in `cluster.test.ts` (the quickstart).
 * Ports below 1024 (80, 443, 53) need root; those tests skip with the reason otherwise, and every
 * other test uses ports above 1024. One cluster for the whole file, on the ranges it is given
 * (other clusters may run beside it); addresses are read from `c.addresses`.
 */
import assert from "node:assert/strict";
import { createHash, randomFillSync } from "node:crypto";
import { createSocket } from "node:dgram";
import { Resolver } from "node:dns/promises";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { request } from "node:http";
import { get as httpsGet } from "node:https";
import net from "node:net";
import { delimiter, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { waitFor } from "../src/_testing/index.ts";
import { REFS } from "../src/api/refs.ts";
import type { KubeObject } from "../src/api/types.ts";
import { type Cluster, startCluster } from "../src/index.ts";
import { routeDevice } from "../src/kubelet/index.ts";
import { KUBECTL, NO_KUBECTL, run } from "./_kubectl.ts";
import { HTTP_SERVER, NODE } from "./_kubelet.ts";

const ECHO_SERVER = join(import.meta.dirname, "fixtures", "echo-server.js");
/** LoadBalancer ingress IPs come from the proxy's default range; a port no other test uses. */
const LB_PORT = 18481;
/** Lowest port anyone may bind (Linux); 1024 where the setting cannot be read. */
function unprivilegedPortStart(): number {
  try {
    return Number(readFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8"));
  } catch {
    return 1024;
  }
}
const NEEDS_ROOT =
  process.getuid?.() === 0 || unprivilegedPortStart() <= 53
    ? false
    : "ports below 1024 on a Service IP need root (or a lower net.ipv4.ip_unprivileged_port_start)";
function onPath(name: string): string | undefined {
  const dirs = (process.env.PATH ?? "").split(delimiter).filter((d) => d !== "");
  return dirs.map((d) => join(d, name)).find((p) => existsSync(p));
}
const CURL = onPath("curl");
const DIG = onPath("dig");
const MB = 1024 * 1024;

type Svc = KubeObject & {
  spec: { clusterIP: string; ports: Array<{ port: number; nodePort?: number }> };
  status?: { loadBalancer?: { ingress?: Array<{ ip: string }> } };
};

// ---------------------------------------------------------------------------------------------
// Manifests

const webEnv = [
  { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
  { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
];

const web: KubeObject = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web" },
  spec: {
    replicas: 3,
    selector: { matchLabels: { app: "web" } },
    template: {
      metadata: { labels: { app: "web" } },
      spec: {
        terminationGracePeriodSeconds: 2,
        containers: [
          {
            name: "web",
            image: "fixture/http-server",
            command: [NODE, HTTP_SERVER],
            env: webEnv,
            ports: [{ name: "http", containerPort: 8080 }],
            // A 503 fails at once; a generous timeout keeps a slow answer on a loaded machine
            // from flapping readiness (which would reshuffle the balancer mid-test).
            readinessProbe: {
              httpGet: { path: "/ready", port: "http" },
              periodSeconds: 1,
              timeoutSeconds: 3,
              failureThreshold: 1,
            },
          },
        ],
      },
    },
  },
};

function service(name: string, spec: object): KubeObject {
  return { apiVersion: "v1", kind: "Service", metadata: { name }, spec } as KubeObject;
}

/** A bare echo pod labelled `app=<name>` (plus `labels`), probed on its TCP port every second. */
function echoPod(
  name: string,
  extra: { env?: { name: string; value: string }[]; labels?: Record<string, string> } = {},
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, labels: { app: name, ...extra.labels } },
    spec: {
      terminationGracePeriodSeconds: 10,
      containers: [
        {
          name: "echo",
          image: "fixture/echo-server",
          command: [NODE, ECHO_SERVER],
          env: [...webEnv, ...(extra.env ?? [])],
          ports: [
            { name: "echo", containerPort: 9000 },
            { name: "echo-udp", containerPort: 9000, protocol: "UDP" },
          ],
          readinessProbe: {
            tcpSocket: { port: 9000 },
            periodSeconds: 1,
            timeoutSeconds: 3,
            failureThreshold: 1,
          },
        },
      ],
    },
  } as KubeObject;
}

const echoPorts = [
  { name: "tcp", port: 7000, targetPort: "echo" },
  { name: "udp", port: 7000, targetPort: 9000, protocol: "UDP" },
];

const MANIFESTS: KubeObject[] = [
  web,
  // Port 80 (root only) and 8081 (anyone) on one ClusterIP, both to the named targetPort.
  service("web", {
    selector: { app: "web" },
    ports: [
      { name: "http", port: 80, targetPort: "http" },
      { name: "alt", port: 8081, targetPort: 8080 },
    ],
  }),
  service("web-np", {
    type: "NodePort",
    selector: { app: "web" },
    ports: [{ port: 8082, targetPort: 8080 }],
  }),
  service("web-lb", {
    type: "LoadBalancer",
    selector: { app: "web" },
    ports: [{ port: LB_PORT, targetPort: 8080 }],
  }),
  service("web-sticky", {
    selector: { app: "web" },
    sessionAffinity: "ClientIP",
    ports: [{ port: 8083, targetPort: 8080 }],
  }),
  service("web-local", {
    type: "NodePort",
    externalTrafficPolicy: "Local",
    internalTrafficPolicy: "Local",
    selector: { app: "web" },
    ports: [{ port: 8085, targetPort: 8080 }],
  }),
  service("web-lb-local", {
    type: "LoadBalancer",
    externalTrafficPolicy: "Local",
    selector: { app: "web" },
    ports: [{ port: LB_PORT + 1, targetPort: 8080 }],
  }),
  service("web-guarded", {
    type: "LoadBalancer",
    selector: { app: "web" },
    loadBalancerSourceRanges: ["127.77.0.0/16"],
    ports: [{ port: LB_PORT + 2, targetPort: 8080 }],
  }),
  service("nobody", { selector: { app: "nobody" }, ports: [{ port: 8084, targetPort: 8080 }] }),
  echoPod("echo", { labels: { mix: "yes" } }),
  // Ready (no probe) but listening nowhere: every connect to it is refused.
  {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "refuser", labels: { app: "refuser", mix: "yes" } },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: "idle",
          image: "fixture/idle",
          command: [NODE, "-e", "setInterval(() => {}, 1 << 30)"],
          ports: [{ name: "echo", containerPort: 9000 }],
        },
      ],
    },
  } as KubeObject,
  service("mixed", { selector: { mix: "yes" }, ports: [echoPorts[0]] }),
  service("echo", { selector: { app: "echo" }, ports: echoPorts }),
  echoPod("lone"),
  service("lone", { selector: { app: "lone" }, ports: echoPorts }),
  echoPod("linger", { env: [{ name: "LINGER_MS", value: "3000" }] }),
  service("linger", { selector: { app: "linger" }, ports: echoPorts }),
];

// ---------------------------------------------------------------------------------------------
// Clients

/** One GET on a fresh connection (the fixture answers `connection: close`). */
function httpGet(
  host: string,
  port: number,
  options: { localAddress?: string; path?: string } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host,
        port,
        path: options.path ?? "/",
        agent: false,
        timeout: 5000,
        ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => {
          body += d;
        });
        res.on("end", () => resolve(body));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

/**
 * `n` GETs of one URL, each on its own connection: one curl run with the URL `n` times (the
 * fixture closes every connection), or Node http where curl is not installed. Failed requests
 * give empty answers.
 */
async function getMany(
  host: string,
  port: number,
  n: number,
  options: { localAddress?: string } = {},
): Promise<string[]> {
  if (CURL === undefined) {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(await httpGet(host, port, options).catch(() => ""));
    return out;
  }
  const url = `http://${host}:${port}/`;
  const args = ["-sS", "--max-time", "20", "-w", "\\n"];
  if (options.localAddress) args.push("--interface", options.localAddress);
  const r = await run(CURL, [...args, ...Array.from({ length: n }, () => url)]);
  return r.stdout.split("\n").slice(0, n);
}

function podOf(answer: string): string | undefined {
  return /^(web-\S+)$/.exec(answer.trim())?.[1];
}

/** A TCP connection through the proxy with a line-free echo round trip. */
async function connect(host: string, port: number, localAddress?: string): Promise<net.Socket> {
  const socket = net.connect({
    host,
    port,
    allowHalfOpen: true,
    ...(localAddress ? { localAddress } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  return socket;
}

function roundTrip(socket: net.Socket, text: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = "";
    const timer = setTimeout(
      () => done(new Error(`no echo of ${text} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onData = (d: Buffer) => {
      got += d.toString();
      if (got.length >= text.length) done();
    };
    const onEnd = () => done(new Error(`connection ended after ${JSON.stringify(got)}`));
    const done = (err?: Error) => {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("end", onEnd);
      socket.off("error", done);
      if (err) reject(err);
      else resolve(got);
    };
    socket.on("data", onData);
    socket.once("end", onEnd);
    socket.once("error", done);
    socket.write(text);
  });
}

/** How a fresh connection ends without sending anything: "reset", "refused", "eof" or "open". */
function probeConnection(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve("open");
    }, 3000);
    const finish = (what: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(what);
    };
    socket.on("error", (err: NodeJS.ErrnoException) =>
      finish(
        err.code === "ECONNRESET"
          ? "reset"
          : err.code === "ECONNREFUSED"
            ? "refused"
            : String(err.code),
      ),
    );
    socket.on("end", () => finish("eof"));
    socket.on("data", () => finish("data"));
  });
}

/** Sends `total` random bytes through an echo connection; sha256 of what went and came back. */
function echoTransfer(
  host: string,
  port: number,
  total: number,
): Promise<{ sent: string; received: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, allowHalfOpen: true });
    const sentHash = createHash("sha256");
    const receivedHash = createHash("sha256");
    let bytes = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`transfer stalled after ${bytes} bytes back`));
    }, 120_000);
    socket.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on("data", (d: Buffer) => {
      receivedHash.update(d);
      bytes += d.length;
    });
    socket.on("end", () => {
      clearTimeout(timer);
      socket.end();
      resolve({ sent: sentHash.digest("hex"), received: receivedHash.digest("hex"), bytes });
    });
    socket.once("connect", () => {
      let left = total;
      const pump = () => {
        while (left > 0) {
          const chunk = randomFillSync(Buffer.allocUnsafe(Math.min(MB, left)));
          left -= chunk.length;
          sentHash.update(chunk);
          if (!socket.write(chunk)) {
            socket.once("drain", pump);
            return;
          }
        }
        socket.end(); // half-close: the echo server ends its side once it has sent everything
      };
      pump();
    });
  });
}

function udpEcho(
  host: string,
  port: number,
  payload: string,
): Promise<{ reply: string; from: string }> {
  return new Promise((resolve, reject) => {
    const socket = createSocket("udp4");
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no UDP reply from ${host}:${port}`));
    }, 1000);
    socket.on("message", (msg, rinfo) => {
      clearTimeout(timer);
      socket.close();
      resolve({ reply: msg.toString(), from: `${rinfo.address}:${rinfo.port}` });
    });
    socket.on("error", (err) => {
      clearTimeout(timer);
      socket.close();
      reject(err);
    });
    socket.send(payload, port, host);
  });
}

// ---------------------------------------------------------------------------------------------

describe("the service proxy with real pods", () => {
  let c: Cluster;
  let noPods: string | false = false;
  const svcs = new Map<string, Svc>();
  const ip = (name: string) => svcs.get(name)?.spec.clusterIP ?? "";
  const webPods = async () =>
    (await c.client.list(REFS.pods, "default", { labelSelector: "app=web" })).items as Array<
      KubeObject & { status?: { podIP?: string } }
    >;

  before(async () => {
    c = await startCluster({
      runtime: "process",
      ephemeral: true,
      apiPort: 0,
      dnsPort: 0,
      updateKubeconfig: false,
    });
    if (!c.hasNodeAgent) {
      noPods = "no node agent in this build: pods cannot run";
      return;
    }
    const applied = await c.apply(MANIFESTS);
    for (const o of applied) if (o.kind === "Service") svcs.set(o.metadata.name ?? "", o as Svc);
    await c.waitReady(applied, { timeoutMs: 60_000 });
  });
  after(async () => {
    await c?.stop();
  });

  test("curl through the ClusterIP:80 reaches the pods on targetPort 8080, every replica in turn", {
    skip: NEEDS_ROOT,
  }, async (t) => {
    if (noPods) return t.skip(noPods);
    // The proxy opens its listener as soon as the Service and its slice reach it.
    await waitFor(async () => podOf(await httpGet(ip("web"), 80).catch(() => "")), {
      what: `${ip("web")}:80 to answer`,
      retryErrors: true,
    });
    const answers = await getMany(ip("web"), 80, 30);
    const pods = new Set(answers.map(podOf));
    const names = new Set((await webPods()).map((p) => p.metadata.name));
    assert.deepEqual([...pods].sort(), [...names].sort(), answers.join("|"));
  });

  test("a NodePort answers on the node IP", async (t) => {
    if (noPods) return t.skip(noPods);
    const nodePort = svcs.get("web-np")?.spec.ports[0]?.nodePort;
    const { min, max } = c.addresses.nodePortRange;
    assert.ok(nodePort !== undefined && nodePort >= min && nodePort <= max, String(nodePort));
    const node = c.addresses.nodeIP;
    const answer = await waitFor(async () => podOf(await httpGet(node, nodePort).catch(() => "")), {
      what: `${node}:${nodePort} to answer`,
      retryErrors: true,
    });
    assert.match(answer, /^web-/);
  });

  test("kubectl get svc shows the LoadBalancer's ingress IP, which answers", {
    skip: NO_KUBECTL,
  }, async (t) => {
    if (noPods) return t.skip(noPods);
    const ingress = await waitFor(
      async () => {
        const svc = (await c.client.get(REFS.services, "default", "web-lb")) as Svc;
        return svc.status?.loadBalancer?.ingress?.[0]?.ip;
      },
      { what: "the LoadBalancer ingress IP", retryErrors: true },
    );
    const r = await run(KUBECTL ?? "", [
      "--kubeconfig",
      c.kubeconfigPath,
      "--cache-dir",
      join(c.dataDir, "kube-cache"),
      "get",
      "svc",
      "web-lb",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const row = new RegExp(
      `^web-lb\\s+LoadBalancer\\s+${ip("web-lb").replaceAll(".", "\\.")}\\s+${ingress.replaceAll(".", "\\.")}\\s+${LB_PORT}:\\d+/TCP\\s`,
      "m",
    );
    assert.match(r.stdout, row);
    const answer = await waitFor(
      async () => podOf(await httpGet(ingress, LB_PORT).catch(() => "")),
      { what: `${ingress}:${LB_PORT} to answer`, retryErrors: true },
    );
    assert.match(answer, /^web-/);
  });

  test("loadBalancerSourceRanges: a client inside them answered at the ingress IP, one outside reset there and served at the ClusterIP", async (t) => {
    if (noPods) return t.skip(noPods);
    const ingress = await waitFor(
      async () =>
        ((await c.client.get(REFS.services, "default", "web-guarded")) as Svc).status?.loadBalancer
          ?.ingress?.[0]?.ip,
      { what: "web-guarded's ingress IP", retryErrors: true },
    );
    assert.equal(await routeDevice(ingress), "lo");
    const port = LB_PORT + 2;
    const near = (p: string) =>
      `${p}.${1 + (process.pid % 250)}.${1 + Math.floor(Math.random() * 250)}`;
    const [inside, outside] = [near("127.77"), near("127.78")];
    const answers = await waitFor(
      async () => {
        const got = await getMany(ingress, port, 2, { localAddress: inside });
        return got.every((a) => podOf(a)) ? got : undefined;
      },
      { what: `${ingress}:${port} answering ${inside}` },
    );
    assert.equal(answers.length, 2);
    const refused = await httpGet(ingress, port, { localAddress: outside }).then(
      (a) => `answered ${a}`,
      (e: NodeJS.ErrnoException) => e.code ?? e.message,
    );
    assert.equal(refused, "ECONNRESET");
    assert.match(await httpGet(ip("web-guarded"), port, { localAddress: outside }), /^web-/);
  });

  test("Local traffic policies serve this node's pods on the ClusterIP and the NodePort", async (t) => {
    if (noPods) return t.skip(noPods);
    const nodePort = svcs.get("web-local")?.spec.ports[0]?.nodePort ?? 0;
    for (const [host, port] of [
      [ip("web-local"), 8085],
      [c.addresses.nodeIP, nodePort],
    ] as const) {
      const answer = await waitFor(async () => podOf(await httpGet(host, port).catch(() => "")), {
        what: `${host}:${port} to answer`,
        retryErrors: true,
      });
      assert.match(answer, /^web-/);
    }
  });

  test("a Local LoadBalancer's health-check node port counts this node's ready pods", async (t) => {
    if (noPods) return t.skip(noPods);
    const svc = (await c.client.get(REFS.services, "default", "web-lb-local")) as Svc & {
      spec: { healthCheckNodePort?: number };
    };
    // The API server allocates one from the node port range, as kube-apiserver does.
    const port = svc.spec.healthCheckNodePort;
    assert.ok(port, "spec.healthCheckNodePort is allocated");
    const node = c.addresses.nodeIP;
    const body = await waitFor(() => httpGet(node, port).catch(() => undefined), {
      what: `${node}:${port} to answer`,
      retryErrors: true,
    });
    assert.equal(JSON.parse(body).localEndpoints, 3, body);
  });

  test("ClientIP affinity pins each client address to one pod", async (t) => {
    if (noPods) return t.skip(noPods);
    const sticky = ip("web-sticky");
    await waitFor(async () => podOf(await httpGet(sticky, 8083).catch(() => "")), {
      what: `${sticky}:8083 to answer`,
      retryErrors: true,
    });
    // Six client addresses; new clients take the next endpoint in turn, so all three are used.
    const seen = new Set<string>();
    for (let i = 2; i < 8; i++) {
      const localAddress = `127.0.0.${i}`;
      const answers = await getMany(sticky, 8083, 10, { localAddress });
      const pods = new Set(answers.map(podOf));
      assert.equal(pods.size, 1, `${localAddress} reached ${answers.join("|")}`);
      const [pod] = pods;
      assert.ok(pod, `${localAddress} got no answer: ${answers.join("|")}`);
      seen.add(pod);
    }
    assert.equal(seen.size, 3, [...seen].join());
    // Without affinity the same client is spread (the contrast that makes the test meaningful).
    const spread = new Set(
      (await getMany(ip("web"), 8081, 12, { localAddress: "127.0.0.2" })).map(podOf),
    );
    assert.equal(spread.size, 3, [...spread].join());
  });

  test("a Service without endpoints resets new connections", async (t) => {
    if (noPods) return t.skip(noPods);
    assert.equal(await probeConnection(ip("nobody"), 8084), "reset");
  });

  test("a UDP echo Service answers from the Service address", async (t) => {
    if (noPods) return t.skip(noPods);
    const echo = ip("echo");
    const first = await waitFor(() => udpEcho(echo, 7000, "ping-0"), {
      what: `UDP ${echo}:7000 to echo`,
      retryErrors: true,
    });
    assert.deepEqual(first, { reply: "ping-0", from: `${echo}:7000` });
    for (let i = 1; i < 20; i++) {
      assert.deepEqual(await udpEcho(echo, 7000, `ping-${i}`), {
        reply: `ping-${i}`,
        from: `${echo}:7000`,
      });
    }
  });

  test("a pod reaches itself through its own Service (hairpin)", async (t) => {
    if (noPods) return t.skip(noPods);
    const pod = (await c.client.get(REFS.pods, "default", "echo")) as KubeObject & {
      status: { podIP: string };
    };
    // In its own network namespace (podNetwork netns, as root) the pod is the client there.
    const own = existsSync("/run/netns")
      ? readdirSync("/run/netns").find((n) => n.endsWith(`-${pod.status.podIP}`))
      : undefined;
    if (own && (await routeDevice(pod.status.podIP)) !== "lo") {
      assert.equal(await routeDevice(ip("echo")), "lo");
      const client = `const s=require("net").connect(7000,${JSON.stringify(ip("echo"))},()=>s.end("me again"));let b="";s.on("data",d=>b+=d).on("end",()=>console.log(b))`;
      const r = await run("nsenter", [`--net=/run/netns/${own}`, NODE, "-e", client]);
      assert.equal(r.stdout.trim(), "me again", r.stderr);
      return;
    }
    // The proxy binds its side to the client's address, so the pod talks to itself.
    const s = await connect(ip("echo"), 7000, pod.status.podIP);
    try {
      assert.equal(await roundTrip(s, "me again"), "me again");
    } finally {
      s.destroy();
    }
  });

  test("a 100 MB transfer through the proxy comes back byte-identical", async (t) => {
    if (noPods) return t.skip(noPods);
    const echo = ip("echo");
    await waitFor(
      async () => {
        const s = await connect(echo, 7000);
        try {
          return (await roundTrip(s, "hi")) === "hi";
        } finally {
          s.destroy();
        }
      },
      { what: `TCP ${echo}:7000 to echo`, retryErrors: true },
    );
    const t0 = Date.now();
    const r = await echoTransfer(echo, 7000, 100 * MB);
    t.diagnostic(`100 MB each way in ${Date.now() - t0} ms`);
    assert.equal(r.bytes, 100 * MB);
    assert.equal(r.received, r.sent);
  });

  test("connections that a ready endpoint refuses go on to the next one, 200 at once", async (t) => {
    if (noPods) return t.skip(noPods);
    const mixed = ip("mixed");
    await waitFor(
      async () => {
        const s = await connect(mixed, 7000);
        try {
          return (await roundTrip(s, "hi")) === "hi";
        } finally {
          s.destroy();
        }
      },
      { what: `${mixed}:7000 to echo`, retryErrors: true },
    );
    const one = async (i: number) => {
      const s = await connect(mixed, 7000);
      try {
        return await roundTrip(s, `c${i}`, 20_000);
      } finally {
        s.destroy();
      }
    };
    const results = await Promise.allSettled(Array.from({ length: 200 }, (_, i) => one(i)));
    const failed = results.flatMap((r, i) =>
      r.status === "fulfilled" && r.value === `c${i}`
        ? []
        : [String((r as { reason?: unknown }).reason ?? r)],
    );
    assert.deepEqual(failed, [], `${failed.length} of 200 failed`);
  });

  test("errors on one connection never affect the others", async (t) => {
    if (noPods) return t.skip(noPods);
    const echo = ip("echo");
    const steady = await connect(echo, 7000);
    try {
      assert.equal(await roundTrip(steady, "before"), "before");
      const junk = Buffer.alloc(256 * 1024, 7);
      const abusers: Promise<unknown>[] = [];
      for (let i = 0; i < 20; i++) {
        // Reset in the middle of a transfer.
        abusers.push(
          connect(echo, 7000).then(
            (s) => {
              s.write(junk);
              s.resetAndDestroy();
            },
            () => {},
          ),
        );
        // Gone before the proxy has dialled the backend.
        const early = net.connect({ host: echo, port: 7000 });
        early.on("error", () => {});
        early.destroy();
        // Rejected for want of endpoints.
        abusers.push(probeConnection(ip("nobody"), 8084));
      }
      await Promise.all(abusers);
      assert.equal(await roundTrip(steady, "after"), "after");
      const fresh = await connect(echo, 7000);
      assert.equal(await roundTrip(fresh, "fresh"), "fresh");
      fresh.destroy();
    } finally {
      steady.destroy();
    }
  });

  test("a connection to an endpoint that is deleted is closed, though its pod still runs", async (t) => {
    if (noPods) return t.skip(noPods);
    const lone = ip("lone");
    const conn = await waitFor(
      async () => {
        const s = await connect(lone, 7000);
        if ((await roundTrip(s, "hello").catch(() => "")) === "hello") return s;
        s.destroy();
        return undefined;
      },
      { what: `${lone}:7000 to echo`, retryErrors: true },
    );
    let closed = false;
    conn.on("error", () => {});
    // The peer's FIN ('end': the socket is half-open) or a reset ('close').
    for (const ev of ["end", "close"]) {
      conn.on(ev, () => {
        closed = true;
      });
    }
    // Out of the Service's selector: its endpoint leaves the slice; the process keeps running.
    await c.client.patch(REFS.pods, "default", "lone", "merge", {
      metadata: { labels: { app: "lone-elsewhere" } },
    });
    await waitFor(() => closed, { what: "the proxy to close the connection", retryErrors: true });
    const pod = (await c.client.get(REFS.pods, "default", "lone")) as KubeObject & {
      status: { podIP: string };
    };
    const direct = await connect(pod.status.podIP, 9000);
    assert.equal(await roundTrip(direct, "still here"), "still here");
    direct.destroy();
  });

  test("a connection to a terminating endpoint is kept until its pod is gone", async (t) => {
    if (noPods) return t.skip(noPods);
    const linger = ip("linger");
    const conn = await waitFor(
      async () => {
        const s = await connect(linger, 7000);
        if ((await roundTrip(s, "hello").catch(() => "")) === "hello") return s;
        s.destroy();
        return undefined;
      },
      { what: `${linger}:7000 to echo`, retryErrors: true },
    );
    let closed = false;
    conn.on("error", () => {});
    // The peer's FIN ('end': the socket is half-open) or a reset ('close').
    for (const ev of ["end", "close"]) {
      conn.on(ev, () => {
        closed = true;
      });
    }
    // The pod drains for 3 s after SIGTERM (LINGER_MS) within its 10 s grace period.
    await c.client.delete(REFS.pods, "default", "linger");
    type Conditions = { ready?: boolean; serving?: boolean; terminating?: boolean };
    const conditions = async () => {
      const slices = await c.client.list(REFS.endpointslices, "default", {
        labelSelector: "kubernetes.io/service-name=linger",
      });
      return slices.items.flatMap((s) =>
        ((s as { endpoints?: Array<{ conditions?: Conditions }> }).endpoints ?? []).map(
          (e) => e.conditions ?? {},
        ),
      );
    };
    // The pod still answers its probe while it drains: serving, terminating, not ready.
    const terminating = await waitFor(
      async () => (await conditions()).find((e) => e.terminating === true),
      { what: "the endpoint to be terminating", retryErrors: true },
    );
    assert.deepEqual(terminating, { ready: false, serving: true, terminating: true });
    // Give the proxy (fed by the same informers) time to act wrongly, then use the connection. A
    // fixed time: the proxy shows nothing per endpoint, so no signal says it has seen the change.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(closed, false, "closed while the endpoint was terminating");
    assert.equal(await roundTrip(conn, "draining"), "draining");
    // No ready endpoint is left, so new connections go to the serving terminating one.
    const late = await connect(linger, 7000);
    assert.equal(await roundTrip(late, "late"), "late");
    late.destroy();
    // The process exits after draining; the connection ends with it.
    await waitFor(() => closed, { what: "the connection to end with the pod", retryErrors: true });
  });

  test("the kubernetes Service's first IP of the service range reaches the API server", {
    skip: NEEDS_ROOT,
  }, async (t) => {
    if (noPods) return t.skip(noPods);
    const kubeIP = ((await c.client.get(REFS.services, "default", "kubernetes")) as Svc).spec
      .clusterIP;
    assert.equal(kubeIP, c.addresses.kubernetesServiceIP);
    const ca = Buffer.from(
      /certificate-authority-data: (\S+)/.exec(c.kubeconfig)?.[1] ?? "",
      "base64",
    ).toString();
    const readyz = () =>
      new Promise<string>((resolve, reject) => {
        httpsGet({ host: kubeIP, port: 443, path: "/readyz", ca, timeout: 5000 }, (res) => {
          let s = "";
          res.on("data", (d) => {
            s += String(d);
          });
          res.on("end", () => resolve(`${res.statusCode} ${s}`));
        }).on("error", reject);
      });
    assert.equal(
      await waitFor(() => readyz().catch(() => undefined), {
        what: `${kubeIP}:443 to answer`,
        retryErrors: true,
      }),
      "200 ok",
    );
  });

  test("kube-dns's ClusterIP:53 answers DNS over UDP and TCP", { skip: NEEDS_ROOT }, async (t) => {
    if (noPods) return t.skip(noPods);
    const dnsIP = ((await c.client.get(REFS.services, "kube-system", "kube-dns")) as Svc).spec
      .clusterIP;
    assert.equal(dnsIP, c.addresses.dnsServiceIP);
    const name = "web.default.svc.cluster.local";
    const r = new Resolver({ timeout: 1000, tries: 2 });
    r.setServers([`${dnsIP}:53`]);
    assert.deepEqual(
      await waitFor(() => r.resolve4(name), {
        what: `${dnsIP}:53/UDP to answer`,
        retryErrors: true,
      }),
      [ip("web")],
    );
    if (DIG === undefined) return t.diagnostic("dig is not installed: TCP not checked");
    for (const transport of ["+notcp", "+tcp"]) {
      const out = await run(DIG, [`@${dnsIP}`, "-p", "53", transport, "+short", "+tries=2", name]);
      assert.equal(out.code, 0, out.stderr);
      assert.equal(out.stdout.trim(), ip("web"), `${transport}: ${out.stdout}`);
    }
  });

  test("a pod made unready stops getting new connections within a few probe periods, and gets them again after", async (t) => {
    if (noPods) return t.skip(noPods);
    const front = ip("web");
    const pods = await webPods();
    const target = pods[0];
    assert.ok(target?.status?.podIP);
    const name = target.metadata.name;
    await httpGet(target.status.podIP, 8080, { path: "/toggle-ready" });
    const toggledAt = Date.now();
    // Round robin over the two others: 20 answers in a row without it mean it is out.
    let lastHit = toggledAt;
    let missesInRow = 0;
    await waitFor(
      async () => {
        const pod = podOf(await httpGet(front, 8081));
        if (pod === name) {
          lastHit = Date.now();
          missesInRow = 0;
        } else missesInRow++;
        return missesInRow >= 20;
      },
      { what: `${name} to stop getting connections`, retryErrors: true },
    );
    // periodSeconds 1, failureThreshold 1: out after one probe period plus the status and slice
    // round trip. A loaded test machine gets five periods.
    const outAfterMs = lastHit - toggledAt;
    t.diagnostic(`last connection to the unready pod ${outAfterMs} ms after it was made unready`);
    assert.ok(
      outAfterMs < 5000,
      `${name} still got a connection ${outAfterMs} ms after it was made unready`,
    );
    const more = await getMany(front, 8081, 20);
    assert.ok(!more.map(podOf).includes(name), more.join("|"));

    await httpGet(target.status.podIP, 8080, { path: "/toggle-ready" });
    await waitFor(
      async () => {
        const answers = await getMany(front, 8081, 6);
        return answers.map(podOf).includes(name);
      },
      { what: `${name} to get connections again`, retryErrors: true },
    );
  });

  test("scaling to 0 resets new connections", async (t) => {
    if (noPods) return t.skip(noPods);
    const front = ip("web");
    assert.match(await httpGet(front, 8081), /^web-/);
    await c.client.patch(REFS.deployments, "default", "web", "merge", { spec: { replicas: 0 } });
    await waitFor(async () => (await webPods()).length === 0, {
      what: "every web pod to be gone",
      timeoutMs: 30_000,
      retryErrors: true,
    });
    await waitFor(async () => (await probeConnection(front, 8081)) === "reset", {
      what: "the proxy to reset new connections",
      retryErrors: true,
    });
    for (let i = 0; i < 5; i++) assert.equal(await probeConnection(front, 8081), "reset");
    if (CURL !== undefined) {
      const r = await run(CURL, ["-sS", "--max-time", "5", `http://${front}:8081/`]);
      // 56: "Recv failure: Connection reset by peer"; 7: refused; 52: empty reply.
      assert.ok([7, 52, 56].includes(r.code), `curl exit ${r.code}: ${r.stderr}`);
    }
  });
});
