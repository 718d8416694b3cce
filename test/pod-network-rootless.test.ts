/**
 * Pod network namespaces without root (issue 17, podnet_rootless.ts), end to end: a root test
 * starts `loopkube up --pod-network netns` as an unprivileged user (`runuser`; the user is
 * `$LOOPKUBE_ROOTLESS_USER`, default `nobody`), then with kubectl and Node's HTTP client: two
 * replicas binding 0.0.0.0:8080 each serve at its own pod IP (from inside the other pod) and
 * through their ClusterIP from the host (dialled through the node namespace's helper) and from
 * inside a pod, also on port 80, which the host's proxy cannot bind without root; the kube-dns address answers from inside a pod; after Ctrl-C no process of the
 * cluster (helper, pods) is left and no process holds its node network namespace. From the host
 * (this test's user, Node's HTTP client and curl): each pod IP answers on a declared port and on
 * an undeclared one its server binds (hostreach.ts), not on a port bound to the pod's 127.0.0.1
 * only, and no longer once the pod is deleted.
 *
 * Network safety: `ip route get` first: the ClusterIP and pod IPs from the host go to `lo`; inside a pod
 * every 127.x address goes through the pod's `eth0`, which leads only into the node namespace.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  rmSync,
} from "node:fs";
import { get as httpGet } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { waitFor } from "../src/_testing/index.ts";
import { routeDevice } from "../src/kubelet/index.ts";
import { ENTRY, ROOT } from "./_cli.ts";
import { KUBECTL, NO_KUBECTL, run } from "./_kubectl.ts";

const USER = process.env.LOOPKUBE_ROOTLESS_USER || "nobody";
const NODE = process.execPath;

function skipReason(): string | undefined {
  if (process.platform !== "linux" || process.getuid?.() !== 0) {
    return "the rootless test starts loopkube as another user: run it as root on Linux";
  }
  if (spawnSync("runuser", ["--version"]).status !== 0) return "runuser (util-linux) is missing";
  if (spawnSync("ip", ["-V"]).status !== 0) return "iproute2 (ip) is not installed";
  const trial = spawnSync("runuser", ["-u", USER, "--", "unshare", "-r", "-n", "true"]);
  if (trial.status !== 0) {
    return `user ${USER} cannot make user namespaces here: ${String(trial.stderr).trim()}`;
  }
  // The user runs this checkout's node and tsx: a checkout or node under a private directory
  // (a 0700 home or temp dir, as some CI clones are) is out of its reach.
  const reach = spawnSync(
    "runuser",
    ["-u", USER, "--", NODE, "--import", "tsx", ENTRY, "--version"],
    {
      cwd: ROOT,
    },
  );
  if (reach.status !== 0) {
    const why = String(reach.stderr)
      .trim()
      .split("\n")
      .find((l) => /denied|EACCES|ENOENT|Error/.test(l));
    return `user ${USER} cannot run this checkout's node and loopkube (${why ?? `exit ${reach.status}`})`;
  }
  return NO_KUBECTL || undefined;
}
const SKIP = skipReason();
if (SKIP) console.log(`# pod-network-rootless.test.ts skipped: ${SKIP}`);

const SERVER = `require("http").createServer((q,s)=>s.end(process.env.POD_NAME)).listen(8080,"0.0.0.0")`;
const MANIFEST = JSON.stringify({
  apiVersion: "v1",
  kind: "List",
  items: [
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web" },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: {
            containers: [
              {
                name: "web",
                image: "node",
                command: [NODE, "-e", SERVER],
                env: [
                  { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                ],
                ports: [{ containerPort: 8080 }],
                readinessProbe: { httpGet: { path: "/", port: 8080 }, periodSeconds: 1 },
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web" },
      // Port 80: the host's proxy cannot listen there without root; pods reach it all the same.
      spec: {
        selector: { app: "web" },
        ports: [
          { name: "http", port: 8080, targetPort: 8080 },
          { name: "low", port: 80, targetPort: 8080 },
        ],
      },
    },
  ],
});

/** Node's HTTP client run inside the pod: GETs each URL and prints one JSON line of bodies. */
const FETCH = `Promise.all(process.argv.slice(1).map(u=>new Promise(r=>require("http").get(u,s=>{let b="";s.on("data",d=>b+=d);s.on("end",()=>r(b))}).on("error",e=>r("error: "+e.message))))).then(a=>console.log(JSON.stringify(a)))`;
const RESOLVE = `const r=new (require("dns").Resolver)();r.setServers([process.argv[1]]);r.resolve4(process.argv[2],(e,a)=>console.log(e?"error: "+e.code:a.join(",")))`;

/**
 * The "kit" pod (one Node program, run from this checkout for grpc-js): a TCP echo server on its
 * 127.0.0.1:7000 (port-forward), a server on :9000 that answers `got:<what it read>` only after
 * the client's FIN (half-close), a UDP server on :5353 that answers every datagram twice, and a
 * gRPC health server on :50051 behind its readiness probe; HTTP servers answering `kit` on :: port
 * 8081 (undeclared) and on 127.0.0.1:8082 (the pod's own). Service `kit`: NodePort, TCP 9000 and
 * UDP 5353. Its hostname is `kit-host` and ConfigMap `kit` is mounted at /etc/kit (the sandbox).
 */
const KIT = [
  'const net = require("net"), dgram = require("dgram");',
  'net.createServer((s) => s.pipe(s)).listen(7000, "127.0.0.1");',
  'net.createServer({ allowHalfOpen: true }, (s) => { let b = ""; s.on("data", (d) => { b += d; }); s.on("end", () => s.end("got:" + b)); }).listen(9000, "0.0.0.0");',
  'const u = dgram.createSocket("udp4");',
  'u.on("message", (m, r) => { u.send("1:" + m, r.port, r.address); u.send("2:" + m, r.port, r.address); });',
  'u.bind(5353, "0.0.0.0");',
  'require("http").createServer((q, s) => s.end("kit")).listen(8081, "::");',
  'require("http").createServer((q, s) => s.end("kit")).listen(8082, "127.0.0.1");',
  `const load = require("module").createRequire(${JSON.stringify(`${ROOT}/`)});`,
  'const g = load("@grpc/grpc-js"), { HealthImplementation } = load("grpc-health-check");',
  "const srv = new g.Server();",
  'new HealthImplementation({ "": "SERVING" }).addToServer(srv);',
  'srv.bindAsync("0.0.0.0:50051", g.ServerCredentials.createInsecure(), (e) => e && process.exit(1));',
].join("\n");
const KIT_MANIFEST = JSON.stringify({
  apiVersion: "v1",
  kind: "List",
  items: [
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "kit" }, data: { greeting: "hello" } },
    {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "kit", labels: { app: "kit" } },
      spec: {
        hostname: "kit-host",
        terminationGracePeriodSeconds: 1,
        volumes: [{ name: "cfg", configMap: { name: "kit" } }],
        containers: [
          {
            name: "kit",
            image: "node",
            command: [NODE, "-e", KIT],
            readinessProbe: { grpc: { port: 50051 }, periodSeconds: 1 },
            // Declared: UDP only. The TCP servers' ports are found where they are bound.
            ports: [{ containerPort: 5353, protocol: "UDP" }],
            volumeMounts: [{ name: "cfg", mountPath: "/etc/kit" }],
          },
        ],
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "kit" },
      spec: {
        type: "NodePort",
        selector: { app: "kit" },
        ports: [
          { name: "tcp", port: 9000, targetPort: 9000 },
          { name: "udp", port: 5353, targetPort: 5353, protocol: "UDP" },
        ],
      },
    },
  ],
});
/** Writes `ping`, half-closes, prints what comes back before the server's FIN. */
const HALF_CLOSE = `const s=require("net").connect({host:process.argv[1],port:+process.argv[2],allowHalfOpen:true});let b="";s.on("data",d=>b+=d);s.on("end",()=>{console.log(b);s.end()});s.on("error",e=>console.log("error: "+e.message));s.end("ping")`;
/** Sends one datagram and prints the sorted answers that came within 3 s (or once two did). */
const UDP_CLIENT = `const u=require("dgram").createSocket("udp4");const got=[];const done=()=>{console.log(JSON.stringify(got.sort()));process.exit(0)};u.on("message",m=>{got.push(String(m));if(got.length===2)setTimeout(done,200)});u.send("x",+process.argv[2],process.argv[1]);setTimeout(done,3000)`;

/** A Python that can import the official client (python3-kubernetes), or undefined. */
const PYTHON = ["python3", "/usr/bin/python3"].find(
  (py) => spawnSync(py, ["-c", "import kubernetes"]).status === 0,
);
const PY_SCRIPT = fileURLToPath(new URL("./fixtures/python-client.py", import.meta.url));

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    httpGet(url, { agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => {
        body += d;
      });
      res.on("end", () => resolve(body));
    }).on("error", reject);
  });
}

/** What a GET answered, or `error: <code>`. */
const getOrError = (url: string) =>
  get(url).catch((e: NodeJS.ErrnoException) => `error: ${e.code ?? e.message}`);

/** curl's answer from the host, or undefined when curl is not installed. */
const CURL = spawnSync("curl", ["--version"]).status === 0;
if (!CURL) console.log("# pod-network-rootless.test.ts: curl is not installed, Node's client only");
async function curl(url: string): Promise<string | undefined> {
  if (!CURL) return undefined;
  const r = await run("curl", ["-sS", "--max-time", "10", "--noproxy", "*", url]);
  assert.equal(r.code, 0, `curl ${url}: ${r.stderr}`);
  return r.stdout;
}

/** The pids of `pid`'s descendants (through /proc's children lists). */
function descendants(pid: number): number[] {
  const out: number[] = [];
  const walk = (p: number) => {
    let kids: number[] = [];
    try {
      const tasks = readdirSync(`/proc/${p}/task`);
      kids = tasks.flatMap((t) =>
        spawnSync("cat", [`/proc/${p}/task/${t}/children`])
          .stdout.toString()
          .split(/\s+/)
          .filter(Boolean)
          .map(Number),
      );
    } catch {
      return;
    }
    for (const k of kids) {
      out.push(k);
      walk(k);
    }
  };
  walk(pid);
  return out;
}

const netnsOf = (pid: number) => {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
};

/** The loopkube process itself in `up`'s tree (runuser's child), which gets the signals. */
function loopkubePid(tree: number[]): number {
  const pid = tree.find((p) =>
    /src\/cli\/main\.ts\0up/.test(spawnSync("cat", [`/proc/${p}/cmdline`]).stdout.toString()),
  );
  return pid ?? assert.fail("no loopkube process under runuser");
}

describe("rootless pod networks (loopkube up as an unprivileged user)", { skip: SKIP }, () => {
  /** What the first test saw: a pod to exec in, the pods' IPs by name, the Service's ClusterIP. */
  let first: { pod: string; ips: Record<string, string>; clusterIP: string } | undefined;
  let home = "";
  let up: ChildProcess | undefined;
  let out = "";
  let env: NodeJS.ProcessEnv = {};
  const kubectl = async (...args: string[]) => {
    const r = await run(KUBECTL as string, args, { env });
    assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };

  before(async () => {
    home = mkdtempSync(join(tmpdir(), "loopkube-rootless-"));
    chmodSync(home, 0o755);
    const uid = Number(spawnSync("id", ["-u", USER]).stdout.toString().trim());
    const gid = Number(spawnSync("id", ["-g", USER]).stdout.toString().trim());
    chownSync(home, uid, gid);
    env = {
      ...process.env,
      HOME: home,
      KUBECONFIG: join(home, "kube", "config"),
      XDG_DATA_HOME: join(home, "data"),
    };
    await startUp();
  });

  /** Starts `loopkube up` as the user on the same home (and data) and waits until it is up. */
  const startUp = async () => {
    const userEnv = ["HOME", "KUBECONFIG", "XDG_DATA_HOME", "PATH"].map((k) => `${k}=${env[k]}`);
    out = "";
    up = spawn(
      "runuser",
      ["-u", USER, "--", "env", ...userEnv, NODE, "--import", "tsx", ENTRY, "up"].concat([
        "--pod-network",
        "netns",
        // The pods run host commands: no image runtime (it would now run without root too).
        "--runtime",
        "process",
        "--api-port",
        "0",
        "--dns-port",
        "0",
      ]),
      { cwd: ROOT, env },
    );
    await new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer) => {
        out += String(d);
        if (/Press Ctrl-C to stop/.test(out)) resolve();
      };
      up?.stdout?.on("data", onData);
      up?.stderr?.on("data", onData);
      up?.once("exit", (code) => reject(new Error(`up exited (${code}):\n${out}`)));
    });
  };

  after(() => {
    if (up?.exitCode === null) up.kill("SIGKILL");
    rmSync(home, { recursive: true, force: true });
  });

  test("two replicas on 0.0.0.0:8080 serve at their pod IPs and through their ClusterIP; DNS answers in a pod", async () => {
    assert.doesNotMatch(out, /pods share the host's network namespace/, out);
    await run(KUBECTL as string, ["apply", "-f", "-"], { env, input: MANIFEST }).then((r) =>
      assert.equal(r.code, 0, r.stderr),
    );
    const pods = await waitFor(
      async () => {
        const r = await run(KUBECTL as string, ["get", "pods", "-l", "app=web", "-o", "json"], {
          env,
        });
        const items = (
          JSON.parse(r.stdout || "{}") as {
            items?: {
              metadata: { name: string };
              status: { podIP?: string; conditions?: { type: string; status: string }[] };
            }[];
          }
        ).items;
        const ready = (items ?? []).filter((p) =>
          p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
        );
        return ready.length === 2 ? ready : undefined;
      },
      { what: "two ready replicas", timeoutMs: 60_000 },
    );
    const names = pods.map((p) => p.metadata.name).sort();
    const ips = pods.map((p) => p.status.podIP as string);
    const clusterIP = (
      await kubectl("get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}")
    ).trim();
    const dnsIP = (
      await kubectl(
        "get",
        "svc",
        "-n",
        "kube-system",
        "kube-dns",
        "-o",
        "jsonpath={.spec.clusterIP}",
      )
    ).trim();

    // From the host: the ClusterIP is on lo (the proxy's listener), which dials the pods
    // through the node namespace's helper.
    assert.equal(await routeDevice(clusterIP), "lo");
    const seen = new Set<string>();
    await waitFor(
      async () => {
        seen.add(await get(`http://${clusterIP}:8080/`));
        return seen.size === 2;
      },
      { what: "both replicas through the ClusterIP from the host", timeoutMs: 30_000 },
    );
    assert.deepEqual([...seen].sort(), names);

    // From the host: each pod IP (on lo, as every 127.x address) answers on its declared port
    // through the host listener that dials into its namespace.
    for (const p of pods) {
      const ip = p.status.podIP as string;
      assert.equal(await routeDevice(ip), "lo", `${ip} from the host`);
      await waitFor(async () => (await getOrError(`http://${ip}:8080/`)) === p.metadata.name, {
        what: `pod ${p.metadata.name} at ${ip}:8080 from the host`,
        timeoutMs: 30_000,
      });
      const viaCurl = await curl(`http://${ip}:8080/`);
      if (viaCurl !== undefined) assert.equal(viaCurl, p.metadata.name, "curl to the pod IP");
    }

    // Inside the first pod: every 127.x address leaves through its eth0 (into the node
    // namespace only); then each pod IP answers with its own pod, the ClusterIP answers, and
    // kube-dns resolves the Service.
    const pod = pods[0]?.metadata.name as string;
    for (const ip of [...ips, clusterIP, dnsIP]) {
      const route = await kubectl("exec", pod, "--", "ip", "-o", "route", "get", ip);
      // Its own IP is its own (on lo); everything else goes out of its eth0.
      const own = ip === pods[0]?.status.podIP;
      assert.match(route, own ? /^local .* dev lo / : / dev eth0 /, `${ip} from ${pod}: ${route}`);
    }
    const urls = ips.map((ip) => `http://${ip}:8080/`);
    const bodies = JSON.parse(
      await kubectl(
        "exec",
        pod,
        "--",
        NODE,
        "-e",
        FETCH,
        ...urls,
        `http://${clusterIP}:8080/`,
        `http://${clusterIP}/`,
      ),
    ) as string[];
    assert.deepEqual(
      bodies.slice(0, 2),
      pods.map((p) => p.metadata.name),
    );
    assert.ok(names.includes(bodies[2] as string), `ClusterIP from inside a pod: ${bodies[2]}`);
    assert.ok(names.includes(bodies[3] as string), `ClusterIP:80 from inside a pod: ${bodies[3]}`);
    const answer = await kubectl(
      "exec",
      pod,
      "--",
      NODE,
      "-e",
      RESOLVE,
      dnsIP,
      "web.default.svc.cluster.local",
    );
    assert.equal(answer.trim(), clusterIP);

    first = {
      pod,
      ips: Object.fromEntries(pods.map((p) => [p.metadata.name, p.status.podIP as string])),
      clusterIP,
    };
  });
  test("pods reach a UDP Service (every reply), a NodePort at their gateway and a half-closing server; the host reaches the UDP Service and the pod IP at undeclared ports it binds (not its 127.0.0.1); a gRPC probe passes; a pod has its sandbox (resolv.conf, hostname, hosts, volumes); the Python client port-forwards to a pod's 127.0.0.1", async () => {
    const { pod } = first ?? assert.fail("the first test did not finish");
    await run(KUBECTL as string, ["apply", "-f", "-"], { env, input: KIT_MANIFEST }).then((r) =>
      assert.equal(r.code, 0, r.stderr),
    );
    // Ready only through its gRPC readiness probe, dialled in the node namespace.
    const kit = await waitFor(
      async () => {
        const r = await run(KUBECTL as string, ["get", "pod", "kit", "-o", "json"], { env });
        const p = JSON.parse(r.stdout || "{}") as {
          status?: { podIP?: string; conditions?: { type: string; status: string }[] };
        };
        const ready = p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
        return ready ? p.status?.podIP : undefined;
      },
      { what: "pod kit Ready through its gRPC probe", timeoutMs: 60_000 },
    );
    const svc = JSON.parse(await kubectl("get", "svc", "kit", "-o", "json")) as {
      spec: { clusterIP: string; ports: { name: string; nodePort?: number }[] };
    };
    const kitIP = svc.spec.clusterIP;
    const nodePort = svc.spec.ports.find((p) => p.name === "tcp")?.nodePort;
    assert.ok(nodePort, "the kit Service has a NodePort");
    const gateway = /via (\S+)/.exec(
      await kubectl("exec", pod, "--", "ip", "-o", "route", "show", "127.0.0.0/8"),
    )?.[1];
    assert.ok(gateway, "the pod's route to 127.0.0.0/8 names its gateway");
    assert.match(
      await kubectl("exec", pod, "--", "ip", "-o", "route", "get", gateway),
      / dev eth0 /,
    );

    // From the pod: the client half-closes first; the server answers after its EOF.
    const halfClose = (host: string, port: number) =>
      kubectl("exec", pod, "--", NODE, "-e", HALF_CLOSE, host, String(port));
    await waitFor(async () => (await halfClose(kitIP, 9000)).trim() === "got:ping" || undefined, {
      what: "the kit Service's endpoint in the pod's userspace proxy",
      timeoutMs: 30_000,
    });
    assert.equal(
      (await halfClose(gateway, nodePort)).trim(),
      "got:ping",
      "NodePort at the gateway",
    );

    // UDP: the server answers each datagram twice; both answers come back.
    const fromPod = await kubectl("exec", pod, "--", NODE, "-e", UDP_CLIENT, kitIP, "5353");
    assert.deepEqual(JSON.parse(fromPod), ["1:x", "2:x"], "UDP Service from a pod");
    assert.equal(await routeDevice(kitIP), "lo");
    const fromHost = await run(NODE, ["-e", UDP_CLIENT, kitIP, "5353"]);
    assert.deepEqual(JSON.parse(fromHost.stdout), ["1:x", "2:x"], "UDP Service from the host");

    // The pod IP from the host: ports it declares none of, found bound (:: 8081, 0.0.0.0 9000,
    // half-closing client), answer, and its declared UDP port (both answers); its
    // 127.0.0.1-only server does not.
    assert.equal(await routeDevice(kit), "lo");
    await waitFor(async () => (await getOrError(`http://${kit}:8081/`)) === "kit", {
      what: "the kit pod's undeclared port 8081 from the host",
      timeoutMs: 30_000,
    });
    const viaCurl = await curl(`http://${kit}:8081/`);
    if (viaCurl !== undefined) assert.equal(viaCurl, "kit", "curl to an undeclared port");
    const hostHalfClose = await run(NODE, ["-e", HALF_CLOSE, kit, "9000"]);
    assert.equal(hostHalfClose.stdout.trim(), "got:ping", "pod IP:9000 from the host");
    const udpAtPod = await run(NODE, ["-e", UDP_CLIENT, kit, "5353"]);
    assert.deepEqual(JSON.parse(udpAtPod.stdout), ["1:x", "2:x"], "declared UDP port, pod IP");
    assert.equal(
      await getOrError(`http://${kit}:8082/`),
      "error: ECONNREFUSED",
      "a server on the pod's 127.0.0.1 is not at its pod IP",
    );

    // The sandbox: kube-dns in the pod's resolv.conf (a Service's short name resolves through
    // it), its hostname and /etc/hosts, a volume at its mountPath; the host's files untouched.
    const exec = (...cmd: string[]) => kubectl("exec", "kit", "--", ...cmd);
    const dnsIP = (
      await kubectl(
        "get",
        "svc",
        "-n",
        "kube-system",
        "kube-dns",
        "-o",
        "jsonpath={.spec.clusterIP}",
      )
    ).trim();
    assert.match(
      await exec("cat", "/etc/resolv.conf"),
      new RegExp(`^nameserver ${dnsIP.replaceAll(".", "\\.")}\n`),
    );
    assert.equal((await exec("hostname")).trim(), "kit-host");
    assert.match(
      await exec("cat", "/etc/hosts"),
      new RegExp(`^${kit.replaceAll(".", "\\.")}\tkit-host$`, "m"),
    );
    assert.equal(await exec("cat", "/etc/kit/greeting"), "hello");
    assert.equal(existsSync("/etc/kit"), false, "the host's /etc is not written");
    const lookup = `require("dns").lookup(process.argv[1],(e,a)=>console.log(e?"error: "+e.code:a))`;
    assert.equal((await exec(NODE, "-e", lookup, "web")).trim(), first?.clusterIP);

    // The legacy channel WebSocket port-forward (Python client) to the pod's 127.0.0.1.
    if (!PYTHON) {
      console.log("# Python port-forward skipped: python3-kubernetes is not installed");
      return;
    }
    const pf = await run(
      PYTHON,
      [PY_SCRIPT, env.KUBECONFIG as string, "portforward", "default", "kit", "7000"],
      { env, timeoutMs: 60_000 },
    );
    assert.equal(pf.code, 0, pf.stderr);
    assert.equal(
      (JSON.parse(pf.stdout) as { echo: string }).echo,
      "ping through the python client\n",
    );
  });

  test("a deleted pod's IP no longer answers from the host", async () => {
    const kit = (await kubectl("get", "pod", "kit", "-o", "jsonpath={.status.podIP}")).trim();
    assert.equal(await getOrError(`http://${kit}:8081/`), "kit");
    await kubectl("delete", "pod", "kit", "--wait=true");
    await waitFor(
      async () => (await getOrError(`http://${kit}:8081/`)) === "error: ECONNREFUSED" || undefined,
      { what: "the deleted pod's address refusing", timeoutMs: 30_000 },
    );
  });

  test("kill -9 of loopkube up leaves no process; the next up brings the pods back with their IPs", async () => {
    const before = first ?? assert.fail("the first test did not finish");
    const tree = descendants(up?.pid as number);
    const exited = new Promise((r) => up?.once("exit", r));
    process.kill(loopkubePid(tree), "SIGKILL");
    await exited;
    await waitFor(() => tree.every((p) => netnsOf(p) === undefined) || undefined, {
      what: "every process of the killed cluster gone",
      timeoutMs: 30_000,
    });
    await startUp();
    const ips = await waitFor(
      async () => {
        const r = await run(KUBECTL as string, ["get", "pods", "-l", "app=web", "-o", "json"], {
          env,
        });
        const items = (
          JSON.parse(r.stdout || "{}") as {
            items?: {
              metadata: { name: string };
              status: { podIP?: string; conditions?: { type: string; status: string }[] };
            }[];
          }
        ).items;
        const ready = (items ?? []).filter((p) =>
          p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
        );
        return ready.length === 2
          ? Object.fromEntries(ready.map((p) => [p.metadata.name, p.status.podIP as string]))
          : undefined;
      },
      { what: "both replicas Ready again", timeoutMs: 60_000 },
    );
    assert.deepEqual(ips, before.ips, "the same pods with the same IPs");
    const urls = Object.values(ips).map((ip) => `http://${ip}:8080/`);
    const bodies = JSON.parse(
      await kubectl("exec", before.pod, "--", NODE, "-e", FETCH, ...urls),
    ) as string[];
    assert.deepEqual(bodies, Object.keys(ips), "each pod answers at its old IP");
    for (const [name, ip] of Object.entries(ips)) {
      await waitFor(async () => (await getOrError(`http://${ip}:8080/`)) === name, {
        what: `pod ${name} at its old IP from the host after the restart`,
        timeoutMs: 30_000,
      });
    }
  });

  test("Ctrl-C leaves no process and no holder of the node namespace", async () => {
    // Ctrl-C: the cluster, its helper and its pods end, and the node namespace with them.
    const tree = descendants(up?.pid as number);
    const nodeNetns = new Set(tree.map(netnsOf).filter((n) => n && n !== netnsOf(process.pid)));
    assert.ok(nodeNetns.size > 0, "the cluster's processes have namespaces of their own");
    const exited = new Promise((r) => up?.once("exit", r));
    process.kill(loopkubePid(tree), "SIGINT");
    await exited;
    const alive = tree.filter((p) => netnsOf(p) !== undefined);
    assert.deepEqual(alive, [], `processes left: ${alive.join(", ")}`);
    const holders = readdirSync("/proc")
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => nodeNetns.has(netnsOf(Number(p))));
    assert.deepEqual(holders, [], "no process holds the cluster's namespaces");
  });
});
