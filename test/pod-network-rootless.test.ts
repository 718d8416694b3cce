/**
 * Pod network namespaces without root (issue 17, podnet_rootless.ts), end to end: a root test
 * starts `loopkube up --pod-network netns` as an unprivileged user (`runuser`; the user is
 * `$LOOPKUBE_ROOTLESS_USER`, default `nobody`), then with kubectl and Node's HTTP client: two
 * replicas binding 0.0.0.0:8080 each serve at its own pod IP (from inside the other pod) and
 * through their ClusterIP from the host (dialled through the node namespace's helper) and from
 * inside a pod, also on port 80, which the host's proxy cannot bind without root; the kube-dns address answers from inside a pod; after Ctrl-C no process of the
 * cluster (helper, pods) is left and no process holds its node network namespace.
 *
 * Network safety: `ip route get` first: the ClusterIP from the host goes to `lo`; inside a pod
 * every 127.x address goes through the pod's `eth0`, which leads only into the node namespace.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, chownSync, mkdtempSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import { get as httpGet } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
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

describe("rootless pod networks (loopkube up as an unprivileged user)", { skip: SKIP }, () => {
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
    const userEnv = ["HOME", "KUBECONFIG", "XDG_DATA_HOME", "PATH"].map((k) => `${k}=${env[k]}`);
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
  });

  after(() => {
    if (up?.exitCode === null) up.kill("SIGKILL");
    rmSync(home, { recursive: true, force: true });
  });

  test("two replicas on 0.0.0.0:8080 serve at their pod IPs and through their ClusterIP; DNS answers in a pod; nothing is left after Ctrl-C", async () => {
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

    // Ctrl-C: the cluster, its helper and its pods end, and the node namespace with them.
    const tree = descendants(up?.pid as number);
    const nodeNetns = new Set(tree.map(netnsOf).filter((n) => n && n !== netnsOf(process.pid)));
    assert.ok(nodeNetns.size > 0, "the cluster's processes have namespaces of their own");
    const exited = new Promise((r) => up?.once("exit", r));
    for (const p of tree) {
      // The loopkube process itself (runuser's child) gets the Ctrl-C.
      if (
        /src\/cli\/main\.ts\0up/.test(spawnSync("cat", [`/proc/${p}/cmdline`]).stdout.toString())
      ) {
        process.kill(p, "SIGINT");
        break;
      }
    }
    await exited;
    const alive = tree.filter((p) => netnsOf(p) !== undefined);
    assert.deepEqual(alive, [], `processes left: ${alive.join(", ")}`);
    const holders = readdirSync("/proc")
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => nodeNetns.has(netnsOf(Number(p))));
    assert.deepEqual(holders, [], "no process holds the cluster's namespaces");
  });
});
