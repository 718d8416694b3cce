/**
 * ClusterIPs from inside pods (issue 17), in both proxy modes (`nftables`: kernel DNAT;
 * `userspace`: the listeners on the host), end to end with the real kubectl and connections
 * made from inside pods (`kubectl exec`): the spread over the ready replicas only (an unready pod
 * behind the Service gets nothing; with nftables the server sees the client's own pod IP),
 * ClientIP affinity, a UDP flow moving off an endpoint taken out of the Service (the conntrack
 * flush in nftables mode), hairpin, a Service without endpoints refused, an EndpointSlice
 * change followed, a NetworkPolicy applying to a connection made through a ClusterIP, the host
 * still served by the userspace listeners, a LoadBalancer ingress IP and an externalIP answering
 * pods (DNATed in the kernel in nftables mode). nftables mode only: a NodePort at the pod's gateway,
 * ClientIP affinity shared by the ClusterIP and the NodePort, an affinity entry kept through an
 * unrelated change (incremental updates), and the table gone after stop.
 *
 * Network safety: `ip route get` inside the sending pod first (the ClusterIP leaves on `eth0`,
 * which leads only to the host) and on the host (`lo`).
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { get as httpGet } from "node:http";
import { after, before, describe, test } from "node:test";
import type { Pod, Service } from "kubernetes-types/core/v1.js";
import { waitFor } from "../src/_testing/index.ts";
import { REFS } from "../src/api/refs.ts";
import { type Cluster, startCluster } from "../src/index.ts";
import { routeDevice } from "../src/kubelet/index.ts";
import { KUBECTL, NO_KUBECTL, run } from "./_kubectl.ts";

const NODE = process.execPath;
const SKIP =
  process.platform !== "linux" || process.getuid?.() !== 0
    ? "kernel ClusterIPs need root on Linux: run as root to test them"
    : spawnSync("ip", ["-V"]).status !== 0
      ? "iproute2 (ip) is not installed"
      : spawnSync("nft", ["--version"]).status !== 0
        ? "nftables (nft) is not installed"
        : NO_KUBECTL;
if (SKIP) console.log(`# kernel-services.test.ts skipped: ${SKIP}`);

/** Answers each datagram with the pod's name. */
const UDP_SERVER = `const s=require("dgram").createSocket("udp4");s.on("message",(m,r)=>s.send(process.env.POD_NAME,r.port,r.address));s.bind(5353,"0.0.0.0")`;
const CONNTRACK = spawnSync("conntrack", ["--version"]).status === 0;

/** Answers `<pod name> <client address>`. */
const SERVER = `require("http").createServer((q,s)=>s.end(process.env.POD_NAME+" "+q.socket.remoteAddress)).listen(8080,"0.0.0.0")`;

const service = (name: string, selector: Record<string, string>, extra = {}) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace: "default" },
  spec: { selector, ports: [{ port: 80, targetPort: 8080 }], ...extra },
});
const WEB = { tier: "web" };
/** An externalIP no other cluster on the machine is likely to serve too (loopback, so local). */
const EXTERNAL_IP = `127.77.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;

const MANIFESTS = [
  {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "echo", namespace: "default" },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: "echo" } },
      template: {
        metadata: { labels: { app: "echo", ...WEB } },
        spec: {
          containers: [
            {
              name: "echo",
              image: "node",
              command: [NODE, "-e", SERVER],
              env: [{ name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
              readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
            },
          ],
        },
      },
    },
  },
  {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "client", namespace: "default", labels: { app: "client" } },
    spec: {
      containers: [{ name: "c", image: "node", command: [NODE, "-e", "setInterval(()=>{},1e9)"] }],
    },
  },
  {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "echo-unready", namespace: "default", labels: WEB },
    spec: {
      containers: [
        {
          name: "echo",
          image: "node",
          command: [NODE, "-e", SERVER],
          env: [{ name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
          readinessProbe: { tcpSocket: { port: 8081 }, periodSeconds: 1 },
        },
      ],
    },
  },
  service("echo", WEB),
  service("sticky", WEB, { sessionAffinity: "ClientIP" }),
  service("empty", { app: "nobody" }),
  service("echo-np", WEB, { type: "NodePort" }),
  service("sticky-np", WEB, { type: "NodePort", sessionAffinity: "ClientIP" }),
  service("echo-lb", WEB, { type: "LoadBalancer" }),
  service("echo-ext", WEB, { externalIPs: [EXTERNAL_IP] }),
  ...["udp-a", "udp-b"].map((name) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", labels: { udp: name === "udp-a" ? "on" : "off" } },
    spec: {
      containers: [
        {
          name: "u",
          image: "node",
          command: [NODE, "-e", UDP_SERVER],
          env: [{ name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
        },
      ],
    },
  })),
  {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "udp", namespace: "default" },
    spec: { selector: { udp: "on" }, ports: [{ port: 53, targetPort: 5353, protocol: "UDP" }] },
  },
];

/** One datagram from a fixed source port, so that it belongs to one conntrack flow. */
const inPodUdp = (host: string, port: number) =>
  `const s=require("dgram").createSocket("udp4");const t=setTimeout(()=>{console.log("timeout");s.close()},2000);s.on("message",m=>{clearTimeout(t);console.log(String(m));s.close()});s.bind(40000,()=>s.send("x",${port},${JSON.stringify(host)}))`;

const inPodFetch = (host: string, port: number) =>
  `require("http").get({host:${JSON.stringify(host)},port:${port},agent:false,timeout:3000},r=>{let b="";r.on("data",d=>b+=d);r.on("end",()=>console.log(b))}).on("timeout",function(){this.destroy(Object.assign(new Error(),{code:"TIMEOUT"}))}).on("error",e=>console.log("error "+e.code))`;

/** Several GETs in one exec: one answer per line. */
const inPodFetchMany = (host: string, port: number, n: number) =>
  `const h=require("http");const one=()=>new Promise(r=>h.get({host:${JSON.stringify(host)},port:${port},agent:false,timeout:3000},s=>{let b="";s.on("data",d=>b+=d);s.on("end",()=>r(b))}).on("error",e=>r("error "+e.code)));(async()=>{for(let i=0;i<${n};i++)console.log(await one())})()`;

for (const mode of ["nftables", "userspace"] as const)
  describe(`ClusterIPs from pods, proxy mode ${mode}`, { skip: SKIP }, () => {
    const kernel = mode === "nftables";
    const kernelOnly = kernel ? false : "the kernel's table (nftables mode only)";
    let cluster: Cluster;
    let tag = "";
    const ip: Record<string, string> = {};
    let echoPods: string[] = [];

    const kubectl = (args: string[], input?: string) =>
      run(KUBECTL ?? "kubectl", ["--kubeconfig", cluster.kubeconfigPath, ...args], {
        ...(input !== undefined ? { input } : {}),
      });
    const exec = async (pod: string, script: string) => {
      const r = await kubectl(["exec", pod, "--", NODE, "-e", script]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.trim();
    };
    const routedOut = async (pod: string, host: string) => {
      const r = await kubectl(["exec", pod, "--", "ip", "-o", "route", "get", host]);
      assert.equal(/ dev (\S+)/.exec(r.stdout)?.[1], "eth0", `${host} leaves ${pod} on eth0`);
    };
    const many = async (pod: string, host: string, n: number) => {
      await routedOut(pod, host);
      return (await exec(pod, inPodFetchMany(host, 80, n))).split("\n");
    };
    const table = () =>
      spawnSync("nft", ["list", "table", "ip", `loopkube-${tag}-svc`], { encoding: "utf8" });

    before(async () => {
      cluster = await startCluster({
        runtime: "process",
        name: `kernelsvc-${mode.slice(0, 4)}`,
        ephemeral: true,
        apiPort: 0,
        dnsPort: 0,
        updateKubeconfig: false,
        podNetwork: "netns",
        proxyMode: mode,
      });
      const r = await kubectl(
        ["apply", "-f", "-"],
        JSON.stringify({ apiVersion: "v1", kind: "List", items: MANIFESTS }),
      );
      assert.equal(r.code, 0, r.stderr);
      await waitFor(
        async () => {
          const pods = (await cluster.client.list(REFS.pods, "default")).items as Pod[];
          const ready = pods.filter((p) =>
            p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
          );
          if (ready.length < 5) return undefined;
          for (const p of ready) ip[p.metadata?.name ?? ""] = p.status?.podIP ?? "";
          echoPods = ready.map((p) => p.metadata?.name ?? "").filter((n) => n.startsWith("echo-"));
          return true;
        },
        { what: "two echo pods, two UDP pods and the client Ready", timeoutMs: 60_000 },
      );
      for (const name of ["echo", "sticky", "empty", "udp", "sticky-np"]) {
        ip[name] = ((await cluster.client.get(REFS.services, "default", name)) as Service).spec
          ?.clusterIP as string;
      }
      tag = /^lk([0-9a-f]{4})/.exec(await routeDevice(ip.client ?? ""))?.[1] ?? "";
      assert.ok(tag);
      if (kernel) {
        await waitFor(() => (/numgen random mod 2/.test(table().stdout) ? true : undefined), {
          what: "the echo Service's two endpoints in the service table",
        });
      } else {
        await waitFor(
          async () =>
            new Set((await many("client", ip.echo ?? "", 6)).map((a) => a.split(" ")[0])).size ===
              2 || undefined,
          { what: "both echo replicas answering through the userspace proxy" },
        );
      }
    });

    after(async () => {
      await cluster?.stop();
    });

    test(`a pod's connections spread over both ready replicas, never the unready one${kernel ? ", and the replicas see the pod's own address" : ""}`, async () => {
      const answers = await many("client", ip.echo ?? "", 12);
      const names = new Set(answers.map((a) => a.split(" ")[0]));
      assert.deepEqual([...names].sort(), [...echoPods].sort(), answers.join("; "));
      if (kernel) {
        for (const a of answers) assert.equal(a.split(" ")[1], ip.client, "the source is kept");
      }
    });

    test("ClientIP affinity keeps a client on one replica", async () => {
      const answers = await many("client", ip.sticky ?? "", 8);
      assert.equal(new Set(answers.map((a) => a.split(" ")[0])).size, 1, answers.join("; "));
      if (kernel) assert.match(table().stdout, /timeout 3h|timeout 10800s/);
    });

    test("ClientIP affinity is shared by a Service's ClusterIP and NodePort", {
      skip: kernelOnly,
    }, async () => {
      const first = (await many("client", ip["sticky-np"] ?? "", 1))[0]?.split(" ")[0];
      const r = await kubectl(["exec", "client", "--", "ip", "-o", "route", "get", ip.echo ?? ""]);
      const gateway = / via (\S+)/.exec(r.stdout)?.[1] ?? "";
      const svc = (await cluster.client.get(REFS.services, "default", "sticky-np")) as Service;
      const nodePort = svc.spec?.ports?.[0]?.nodePort ?? 0;
      await routedOut("client", gateway);
      const answers = (await exec("client", inPodFetchMany(gateway, nodePort, 6))).split("\n");
      for (const a of answers) assert.equal(a.split(" ")[0], first, answers.join("; "));
      const chainOf = (addr: string, p: number) =>
        new RegExp(`${addr.replaceAll(".", "\\.")} \\. tcp \\. ${p} : goto ([^\\s,}]+)`).exec(
          table().stdout,
        )?.[1];
      const chain = chainOf(ip["sticky-np"] ?? "", 80);
      assert.ok(chain);
      assert.equal(chainOf(gateway, nodePort), chain, "both go to one service chain");
    });

    test("an unrelated change leaves a client's affinity entry in place (incremental update)", {
      skip: kernelOnly,
    }, async () => {
      await many("client", ip.sticky ?? "", 1);
      const entry = new RegExp(
        `${(ip.client ?? "").replaceAll(".", "\\.")} (timeout \\S+ )?expires`,
      );
      assert.match(table().stdout, entry, "the client in an affinity set");
      const r = await kubectl(
        ["apply", "-f", "-"],
        JSON.stringify(service("later", WEB, { ports: [{ port: 81, targetPort: 8080 }] })),
      );
      assert.equal(r.code, 0, r.stderr);
      await waitFor(() => (/default\/later\//.test(table().stdout) ? true : undefined), {
        what: "the new Service's chain in the table",
      });
      assert.match(table().stdout, entry, "the client's affinity entry survived the update");
    });

    test("UDP: a flow to an endpoint taken out of the Service moves on (conntrack entry deleted)", {
      skip: !kernel || CONNTRACK ? false : "conntrack (the conntrack package) is not installed",
    }, async () => {
      await routedOut("client", ip.udp ?? "");
      await waitFor(
        async () =>
          (await exec("client", inPodUdp(ip.udp ?? "", 53))) === "udp-a" ? true : undefined,
        { what: "udp-a answering through the UDP ClusterIP" },
      );
      for (const [pod, v] of [
        ["udp-b", "on"],
        ["udp-a", "off"],
      ] as const) {
        const r = await kubectl(["label", "pod", pod, `udp=${v}`, "--overwrite"]);
        assert.equal(r.code, 0, r.stderr);
      }
      // Each try sends on the same flow (same source port), which keeps an entry that was not
      // deleted alive: without the flush the answers would stay udp-a's (udp-a still runs).
      await waitFor(
        async () =>
          (await exec("client", inPodUdp(ip.udp ?? "", 53))) === "udp-b" ? true : undefined,
        { what: "udp-b answering the same flow", timeoutMs: 15_000 },
      );
    });

    test("hairpin: a replica reaches itself through its own Service", async () => {
      const self = echoPods[0] ?? "";
      const seen = new Set<string>();
      for (let i = 0; i < 5 && !seen.has(self); i++) {
        for (const a of await many(self, ip.echo ?? "", 6)) seen.add(a.split(" ")[0] ?? "");
      }
      assert.ok(seen.has(self), `${self} answered itself (${[...seen].join(", ")})`);
    });

    test("a NodePort answers a pod at its gateway, the node as the pod sees it", {
      skip: kernel ? false : "from a pod, NodePorts answer at the gateway in nftables mode only",
    }, async () => {
      const r = await kubectl(["exec", "client", "--", "ip", "-o", "route", "get", ip.echo ?? ""]);
      const gateway = / via (\S+)/.exec(r.stdout)?.[1] ?? "";
      assert.match(gateway, /^127\./);
      const svc = (await cluster.client.get(REFS.services, "default", "echo-np")) as Service;
      const nodePort = svc.spec?.ports?.[0]?.nodePort ?? 0;
      await routedOut("client", gateway);
      const answers = (await exec("client", inPodFetchMany(gateway, nodePort, 4))).split("\n");
      for (const a of answers)
        assert.match(a, new RegExp(`^echo-\\S+ ${ip.client}$`), answers.join("; "));
    });

    test(`a LoadBalancer ingress IP and an externalIP answer a pod${kernel ? " in the kernel: the replicas see the pod's own address" : ""}`, async () => {
      const lb = await waitFor(
        async () =>
          ((await cluster.client.get(REFS.services, "default", "echo-lb")) as Service).status
            ?.loadBalancer?.ingress?.[0]?.ip || undefined,
        { what: "echo-lb's ingress IP in its status" },
      );
      for (const host of [lb, EXTERNAL_IP]) {
        assert.match(host, /^127\./);
        if (kernel) {
          const entry = `${host} . tcp . 80 : goto `;
          await waitFor(() => (table().stdout.includes(entry) ? true : undefined), {
            what: `${host}:80 in the service table`,
          });
        }
        const answers = await many("client", host, 4);
        for (const a of answers) {
          assert.match(
            a,
            kernel ? new RegExp(`^echo-\\S+ ${ip.client}$`) : /^echo-/,
            answers.join("; "),
          );
        }
      }
    });

    test(`loadBalancerSourceRanges: a pod inside them reaches the ingress IP, one outside ${kernel ? "is dropped (kernel firewall chain)" : "is reset"}, its ClusterIP open to both`, async () => {
      const r = await kubectl(
        ["apply", "-f", "-"],
        JSON.stringify(
          service("guarded", WEB, {
            type: "LoadBalancer",
            loadBalancerSourceRanges: [`${ip.client}/32`],
          }),
        ),
      );
      assert.equal(r.code, 0, r.stderr);
      const guarded = await waitFor(
        async () => {
          const svc = (await cluster.client.get(REFS.services, "default", "guarded")) as Service;
          const lb = svc.status?.loadBalancer?.ingress?.[0]?.ip;
          return lb && svc.spec?.clusterIP ? { lb, clusterIP: svc.spec.clusterIP } : undefined;
        },
        { what: "guarded's ingress IP in its status" },
      );
      assert.match(guarded.lb, /^127\./);
      if (kernel) {
        await waitFor(
          () => (table().stdout.includes(`${guarded.lb} . tcp . 80 : goto fw-`) ? true : undefined),
          { what: `${guarded.lb}:80 in the firewall map` },
        );
      }
      await routedOut("client", guarded.lb);
      await routedOut("udp-b", guarded.lb);
      await waitFor(
        async () => /^echo-/.test(await exec("client", inPodFetch(guarded.lb, 80))) || undefined,
        { what: "the client answered at the ingress IP" },
      );
      assert.match(
        await exec("udp-b", inPodFetch(guarded.lb, 80)),
        kernel ? /^error TIMEOUT$/ : /^error ECONNRESET$/,
      );
      await routedOut("udp-b", guarded.clusterIP);
      assert.match(await exec("udp-b", inPodFetch(guarded.clusterIP, 80)), /^echo-/);
    });

    test("a Service without endpoints is refused at once", async () => {
      await routedOut("client", ip.empty ?? "");
      assert.match(
        await exec("client", inPodFetch(ip.empty ?? "", 80)),
        kernel ? /^error ECONNREFUSED$/ : /^error (ECONNREFUSED|ECONNRESET)$/,
      );
    });

    test("the host still reaches ClusterIPs (userspace listeners)", async () => {
      assert.equal(await routeDevice(ip.echo ?? ""), "lo");
      const body = await new Promise<string>((resolve, reject) =>
        httpGet({ host: ip.echo, port: 80, agent: false, timeout: 5000 }, (res) => {
          let b = "";
          res.on("data", (d) => {
            b += String(d);
          });
          res.on("end", () => resolve(b));
        }).on("error", reject),
      );
      assert.match(body, /^echo-/);
    });

    test("a NetworkPolicy applies to a connection made through a ClusterIP", {
      skip: kernel
        ? false
        : "through the userspace proxy the endpoint sees the node as the client (README: ingress rules see it only in nftables mode)",
    }, async () => {
      const r = await kubectl(
        ["apply", "-f", "-"],
        JSON.stringify({
          apiVersion: "networking.k8s.io/v1",
          kind: "NetworkPolicy",
          metadata: { name: "only-friends", namespace: "default" },
          spec: {
            podSelector: { matchLabels: { app: "echo" } },
            ingress: [{ from: [{ podSelector: { matchLabels: { app: "friend" } } }] }],
          },
        }),
      );
      assert.equal(r.code, 0, r.stderr);
      await waitFor(
        async () => {
          await routedOut("client", ip.echo ?? "");
          const got = await exec("client", inPodFetch(ip.echo ?? "", 80));
          return /^error (EHOSTUNREACH|TIMEOUT)$/.test(got) ? got : undefined;
        },
        { what: "the client refused through the ClusterIP", timeoutMs: 20_000 },
      );
      const label = await kubectl(["label", "pod", "client", "app=friend", "--overwrite"]);
      assert.equal(label.code, 0, label.stderr);
      await waitFor(
        async () => {
          const got = await exec("client", inPodFetch(ip.echo ?? "", 80));
          return /^echo-/.test(got) ? got : undefined;
        },
        { what: "the client, now a friend, let in", timeoutMs: 20_000 },
      );
    });

    test("a scale-down is followed: only the remaining replica answers", async () => {
      const r = await kubectl(["scale", "deployment", "echo", "--replicas=1"]);
      assert.equal(r.code, 0, r.stderr);
      if (kernel) {
        await waitFor(() => (/numgen random/.test(table().stdout) ? undefined : true), {
          what: "one endpoint left in the service table",
          timeoutMs: 30_000,
        });
        const answers = await many("client", ip.echo ?? "", 6);
        assert.equal(new Set(answers.map((a) => a.split(" ")[0])).size, 1, answers.join("; "));
      } else {
        await waitFor(
          async () =>
            new Set((await many("client", ip.echo ?? "", 6)).map((a) => a.split(" ")[0])).size ===
              1 || undefined,
          { what: "only one replica answering", timeoutMs: 30_000 },
        );
      }
    });

    test(
      kernel ? "stop deletes the service table" : "no service table, before or after stop",
      async () => {
        await cluster.stop();
        const tables = execFileSync("nft", ["list", "tables"], { encoding: "utf8" });
        assert.doesNotMatch(tables, new RegExp(`loopkube-${tag}`));
      },
    );
  });
