import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import dgram from "node:dgram";
import net from "node:net";
import { describe, it, type TestContext } from "node:test";
import type { Service } from "kubernetes-types/core/v1.js";
import { waitFor } from "../_testing/index.ts";
import {
  type Backend,
  connect,
  endpoint,
  fetchText,
  freshIp,
  freshNodePort,
  nextData,
  service,
  slice,
  startBackend,
  startUdpEcho,
} from "./_testing/kit.ts";
import { createServiceProxy, type ServiceProxy, type ServiceProxyOptions } from "./index.ts";

const PORT = 18080;
const TARGET = 8080;

interface Setup {
  proxy: ServiceProxy;
  ip: string;
  backends: Backend[];
  events: string[];
}

async function setup(
  t: TestContext,
  options: {
    backends?: number;
    spec?: Service["spec"];
    onConnection?: Parameters<typeof startBackend>[2];
    onLoadBalancerIngress?: ServiceProxyOptions["onLoadBalancerIngress"];
  } = {},
): Promise<Setup> {
  const events: string[] = [];
  const proxy = createServiceProxy({
    nodeName: "node-a",
    onEvent: (_svc, type, reason, message) => events.push(`${type} ${reason} ${message}`),
    ...(options.onLoadBalancerIngress
      ? { onLoadBalancerIngress: options.onLoadBalancerIngress }
      : {}),
  });
  const backends: Backend[] = [];
  for (let i = 0; i < (options.backends ?? 3); i++) {
    backends.push(await startBackend(freshIp("127.244"), TARGET, options.onConnection));
  }
  t.after(async () => {
    await proxy.close();
    await Promise.all(backends.map((b) => b.close()));
  });
  const ip = freshIp("127.96");
  proxy.upsertService(
    service("web", { clusterIP: ip, ports: [{ port: PORT, protocol: "TCP" }], ...options.spec }),
  );
  proxy.upsertEndpointSlice(
    slice(
      "web-1",
      "web",
      [{ port: TARGET }],
      backends.map((b) => endpoint(b.ip)),
    ),
  );
  await proxy.settled();
  return { proxy, ip, backends, events };
}

async function fetchMany(n: number, ip: string, port: number, batch = 20): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i += batch) {
    const size = Math.min(batch, n - i);
    out.push(...(await Promise.all(Array.from({ length: size }, () => fetchText(ip, port)))));
  }
  return out;
}

function counts(answers: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const a of answers) m.set(a, (m.get(a) ?? 0) + 1);
  return m;
}

/** Resolves when the peer has finished the connection (FIN or reset). */
function finished(s: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    if (s.destroyed || s.readableEnded) resolve();
    s.once("end", () => resolve());
    s.once("close", () => resolve());
    s.resume();
  });
}

describe("service proxy over TCP", { timeout: 20_000 }, () => {
  it("spreads 300 fresh connections round robin over 3 backends", async (t) => {
    const { ip, backends } = await setup(t);
    const got = counts(await fetchMany(300, ip, PORT));
    assert.deepEqual(
      backends.map((b) => got.get(b.ip)),
      [100, 100, 100],
    );
  });

  it("answers on 127.0.0.1:<nodePort> for a NodePort Service", async (t) => {
    const nodePort = freshNodePort();
    const { backends } = await setup(t, {
      spec: { type: "NodePort", ports: [{ port: PORT, nodePort }] },
    });
    const answer = await fetchText("127.0.0.1", nodePort);
    assert.ok(
      backends.some((b) => b.ip === answer),
      answer,
    );
  });

  it("gives a LoadBalancer Service an ingress IP that answers", async (t) => {
    const nodePort = freshNodePort();
    const published: unknown[] = [];
    const { proxy, backends } = await setup(t, {
      spec: { type: "LoadBalancer", ports: [{ port: PORT, nodePort }] },
      onLoadBalancerIngress: (_svc, ingress) => published.push(ingress),
    });
    const ingress = proxy.loadBalancerIngressFor("default/web");
    assert.deepEqual(published, [ingress]);
    assert.equal(ingress.length, 1);
    assert.equal(ingress[0]?.ipMode, "VIP");
    const answer = await fetchText(ingress[0]?.ip ?? "", PORT);
    assert.ok(
      backends.some((b) => b.ip === answer),
      answer,
    );
  });

  it("refuses a client outside loadBalancerSourceRanges at the ingress IP only, and follows a change of the ranges", async (t) => {
    const nodePort = freshNodePort();
    const inside = "127.77.0.5";
    const outside = "127.78.0.5";
    const spec: Service["spec"] = {
      type: "LoadBalancer",
      ports: [{ port: PORT, nodePort }],
      loadBalancerSourceRanges: [" 127.77.0.0/16"],
    };
    const { proxy, ip, backends } = await setup(t, { spec });
    const lb = proxy.loadBalancerIngressFor("default/web")[0]?.ip ?? "";
    const from = (localAddress: string, to = lb) =>
      fetchText(to, PORT, { localAddress }).then(
        (a) => (backends.some((b) => b.ip === a) ? "answered" : a),
        (e: NodeJS.ErrnoException) => e.code ?? String(e),
      );
    assert.equal(await from(inside), "answered");
    assert.equal(await from(outside), "ECONNRESET");
    assert.equal(await from(outside, ip), "answered", "the ClusterIP is not filtered");
    assert.equal(
      await fetchText("127.0.0.1", nodePort, { localAddress: outside }).then(() => "answered"),
      "answered",
      "nor is the NodePort",
    );
    proxy.upsertService(
      service("web", {
        clusterIP: ip,
        ...spec,
        loadBalancerSourceRanges: ["127.78.0.0/16", "fd00::/8"],
      }),
    );
    await proxy.settled();
    assert.equal(await from(outside), "answered");
    assert.equal(await from(inside), "ECONNRESET");
    proxy.upsertService(
      service("web", { clusterIP: ip, ...spec, loadBalancerSourceRanges: ["0.0.0.0/0"] }),
    );
    await proxy.settled();
    assert.equal(await from(inside), "answered", "0.0.0.0/0 lets everyone in");
  });

  it("pins each client to one backend under ClientIP affinity", async (t) => {
    const { ip } = await setup(t, { spec: { sessionAffinity: "ClientIP" } });
    for (const client of [freshIp("127.244"), freshIp("127.244")]) {
      const answers = new Set<string>();
      for (let i = 0; i < 10; i++) answers.add(await fetchText(ip, PORT, { localAddress: client }));
      assert.equal(answers.size, 1, `${client} went to ${[...answers].join(", ")}`);
    }
  });

  it("keeps a client's affinity across the cluster IP and the node port", async (t) => {
    const nodePort = freshNodePort();
    const { ip } = await setup(t, {
      spec: { type: "NodePort", sessionAffinity: "ClientIP", ports: [{ port: PORT, nodePort }] },
    });
    for (let i = 0; i < 3; i++) {
      const client = freshIp("127.244");
      const viaClusterIp = await fetchText(ip, PORT, { localAddress: client });
      const viaNodePort = await fetchText("127.0.0.1", nodePort, { localAddress: client });
      assert.equal(viaNodePort, viaClusterIp, client);
    }
  });

  it("lets backends see the client's own loopback address", async (t) => {
    const { ip } = await setup(t, {
      backends: 1,
      onConnection: (s) => s.end(s.remoteAddress ?? ""),
    });
    const client = freshIp("127.244");
    assert.equal(await fetchText(ip, PORT, { localAddress: client }), client);
  });

  it("sends no new connection to an endpoint once it is unready", async (t) => {
    const { proxy, ip, backends } = await setup(t);
    const [a, b, c] = backends as [Backend, Backend, Backend];
    proxy.upsertEndpointSlice(
      slice(
        "web-1",
        "web",
        [{ port: TARGET }],
        [
          endpoint(a.ip, { ready: false, serving: false, terminating: false }),
          endpoint(b.ip),
          endpoint(c.ip),
        ],
      ),
    );
    const got = counts(await fetchMany(30, ip, PORT));
    assert.equal(got.get(a.ip), undefined);
    assert.deepEqual([got.get(b.ip), got.get(c.ip)], [15, 15]);
  });

  it("keeps only this node's endpoints under internalTrafficPolicy Local", async (t) => {
    const { proxy, ip, backends } = await setup(t, { spec: { internalTrafficPolicy: "Local" } });
    const [a, b, c] = backends as [Backend, Backend, Backend];
    proxy.upsertEndpointSlice(
      slice(
        "web-1",
        "web",
        [{ port: TARGET }],
        [
          endpoint(a.ip, undefined, "node-b"),
          endpoint(b.ip, undefined, "node-a"),
          endpoint(c.ip, undefined, "node-b"),
        ],
      ),
    );
    assert.deepEqual([...counts(await fetchMany(10, ip, PORT)).keys()], [b.ip]);
  });

  it("resets new connections when the Service has no endpoints", async (t) => {
    const { proxy, ip } = await setup(t);
    proxy.upsertEndpointSlice(slice("web-1", "web", [{ port: TARGET }], []));
    await assert.rejects(fetchText(ip, PORT), { code: "ECONNRESET" });
  });

  it("skips a backend that refuses and connects to the next one", async (t) => {
    const { proxy, ip, backends } = await setup(t, { backends: 1 });
    const refusing = freshIp("127.244"); // nothing listens there
    proxy.upsertEndpointSlice(
      slice(
        "web-1",
        "web",
        [{ port: TARGET }],
        [endpoint(refusing), endpoint(backends[0]?.ip ?? "")],
      ),
    );
    const answers = await fetchMany(10, ip, PORT, 1);
    assert.deepEqual(new Set(answers), new Set([backends[0]?.ip]));
  });

  it("connects every one of many simultaneous connections when one of two backends refuses", async (t) => {
    // Retrying connections interleave on the shared round robin; each must still avoid the
    // backend that refused it, or it can draw that one on every attempt and be reset.
    const { proxy, ip, backends } = await setup(t, { backends: 1 });
    const refusing = freshIp("127.244");
    proxy.upsertEndpointSlice(
      slice(
        "web-1",
        "web",
        [{ port: TARGET }],
        [endpoint(refusing), endpoint(backends[0]?.ip ?? "")],
      ),
    );
    const answers = await fetchMany(200, ip, PORT, 200);
    assert.deepEqual(counts(answers), new Map([[backends[0]?.ip, 200]]));
  });

  it("gives up on a backend that does not answer the handshake and connects to the next", async (t) => {
    // A stopped process whose accept queue is full: the kernel drops further SYNs, so a connect
    // neither succeeds nor fails until our dial timeout.
    const stuckIp = freshIp("127.244");
    const child = spawn(
      process.execPath,
      [
        "-e",
        `require("net").createServer().listen({ host: "${stuckIp}", port: ${TARGET}, backlog: 1 }, () => console.log("ready"))`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    t.after(() => {
      child.kill("SIGKILL");
    });
    await new Promise((r) => child.stdout?.once("data", r));
    child.kill("SIGSTOP");
    const fillers: net.Socket[] = [];
    t.after(() => {
      for (const f of fillers) f.destroy();
    });
    for (let i = 0; i < 2; i++) fillers.push(await connect(stuckIp, TARGET)); // backlog 1 holds 2
    const logs: string[] = [];
    const proxy = createServiceProxy({ nodeName: "node-a", log: (m) => logs.push(m) });
    const good = await startBackend(freshIp("127.244"), TARGET);
    t.after(async () => {
      await proxy.close();
      await good.close();
    });
    const ip = freshIp("127.96");
    proxy.upsertService(service("web", { clusterIP: ip, ports: [{ port: PORT }] }));
    proxy.upsertEndpointSlice(
      slice("web-1", "web", [{ port: TARGET }], [endpoint(stuckIp), endpoint(good.ip)]),
    );
    await proxy.settled();
    // Round robin over two endpoints: one of two consecutive picks is the stuck one.
    const answers = await fetchMany(2, ip, PORT, 1);
    assert.deepEqual(answers, [good.ip, good.ip]);
    assert.ok(
      logs.some((m) => m.includes(stuckIp) && m.includes("timed out")),
      logs.join("\n"),
    );
  });

  it("carries 100 MB each way byte for byte, with half-close", async (t) => {
    // The backend echoes and only ends after the client's FIN: the client must keep reading
    // after it has half-closed.
    const { ip } = await setup(t, { backends: 1, onConnection: (s) => s.pipe(s) });
    const client = await connect(ip, PORT);
    const sent = createHash("sha256");
    const received = createHash("sha256");
    let bytes = 0;
    const done = new Promise<void>((resolve, reject) => {
      client.on("data", (c: Buffer) => {
        bytes += c.length;
        received.update(c);
      });
      client.on("end", () => resolve());
      client.on("error", reject);
    });
    const chunk = randomBytes(1 << 20);
    for (let i = 0; i < 100; i++) {
      chunk[0] = i; // every megabyte differs
      sent.update(chunk);
      if (!client.write(Buffer.from(chunk))) await new Promise((r) => client.once("drain", r));
    }
    client.end();
    await done;
    assert.equal(bytes, 100 << 20);
    assert.equal(received.digest("hex"), sent.digest("hex"));
    client.destroy();
  });

  it("closes an established connection when its endpoint is deleted, not while it terminates", async (t) => {
    const { proxy, ip, backends } = await setup(t, { backends: 1, onConnection: (s) => s.pipe(s) });
    const b = backends[0] as Backend;
    const client = await connect(ip, PORT);
    client.write("one");
    assert.equal(await nextData(client), "one");
    proxy.upsertEndpointSlice(
      slice(
        "web-1",
        "web",
        [{ port: TARGET }],
        [endpoint(b.ip, { ready: false, serving: true, terminating: true })],
      ),
    );
    client.write("two");
    assert.equal(await nextData(client), "two");
    assert.equal(b.sockets.size, 1);
    // Both legs must end: the client's and the one the backend holds.
    const ends = [finished(client), ...[...b.sockets].map(finished)];
    proxy.upsertEndpointSlice(slice("web-1", "web", [{ port: TARGET }], []));
    await Promise.all(ends);
    client.destroy();
  });

  it("serves 500 connections open at once, each with its own bytes", async (t) => {
    const { ip } = await setup(t, { backends: 2, onConnection: (s) => s.pipe(s) });
    const clients = await Promise.all(Array.from({ length: 500 }, () => connect(ip, PORT)));
    const echoed = await Promise.all(
      clients.map((c, i) => {
        const got = nextData(c);
        c.write(`conn-${i}`);
        return got;
      }),
    );
    assert.deepEqual(
      echoed,
      clients.map((_, i) => `conn-${i}`),
    );
    for (const c of clients) c.destroy();
  });

  it("keeps other connections alive when one is reset", async (t) => {
    const { ip, backends } = await setup(t, { backends: 1, onConnection: (s) => s.pipe(s) });
    const a = await connect(ip, PORT);
    const b = await connect(ip, PORT);
    a.write("x");
    b.write("y");
    await Promise.all([nextData(a), nextData(b)]);
    const aFailed = new Promise((resolve) => a.once("error", resolve));
    // Reset the backend side of the first connection.
    const [first] = [...(backends[0]?.sockets ?? [])];
    first?.resetAndDestroy();
    assert.equal(((await aFailed) as NodeJS.ErrnoException).code, "ECONNRESET");
    b.write("still");
    assert.equal(await nextData(b), "still");
    b.destroy();
  });
});

describe("service proxy listeners", { timeout: 10_000 }, () => {
  it("opens no listener for a headless Service and refuses SCTP with an event", async (t) => {
    const { proxy, events } = await setup(t, { backends: 0 });
    proxy.upsertService(service("headless", { clusterIP: "None", ports: [{ port: 80 }] }));
    proxy.upsertService(
      service("sctp", { clusterIP: freshIp("127.96"), ports: [{ port: 9, protocol: "SCTP" }] }),
    );
    await proxy.settled();
    assert.deepEqual(
      proxy.listeners().map((l) => l.service),
      ["default/web"],
    );
    assert.equal(events.filter((e) => e.startsWith("Warning UnsupportedProtocol")).length, 1);
  });

  it("reports an address it cannot bind and keeps serving the rest", async (t) => {
    const { proxy, ip, backends, events } = await setup(t, { backends: 1 });
    const taken = freshIp("127.96");
    const squatter = net.createServer();
    await new Promise<void>((r) => squatter.listen(PORT, taken, () => r()));
    t.after(() => new Promise<void>((r) => squatter.close(() => r())));
    proxy.upsertService(service("blocked", { clusterIP: taken, ports: [{ port: PORT }] }));
    await proxy.settled();
    assert.equal(events.filter((e) => /ListenFailed .*EADDRINUSE/.test(e)).length, 1);
    assert.equal(proxy.listeners().find((l) => l.service === "default/blocked")?.state, "failed");
    assert.equal(await fetchText(ip, PORT), backends[0]?.ip);
  });

  it("binds a failed frontend once its address becomes free", async (t) => {
    const events: string[] = [];
    const taken = freshIp("127.96");
    const listen = t.mock.method(net.Server.prototype, "listen");
    const binds = () =>
      listen.mock.calls.filter((c) => (c.arguments[0] as { host?: unknown })?.host === taken)
        .length;
    const squatter = net.createServer();
    await new Promise<void>((r) => squatter.listen(PORT, taken, () => r()));
    t.after(() => new Promise<void>((r) => (squatter.listening ? squatter.close(() => r()) : r())));
    const watched = createServiceProxy({
      nodeName: "node-a",
      retryIntervalMs: 20,
      onEvent: (_s, _t, reason) => events.push(reason),
    });
    t.after(() => watched.close());
    watched.upsertService(service("late", { clusterIP: taken, ports: [{ port: PORT }] }));
    await watched.settled();
    assert.equal(watched.listeners()[0]?.state, "failed");
    // Retries that fail the same way stay quiet: once the proxy has begun a third bind of the
    // address, two retries have failed and been handled.
    await waitFor(() => binds() >= 3, { what: "two retries of the taken address" });
    await watched.settled();
    assert.deepEqual(events, ["ListenFailed"]);
    await new Promise<void>((r) => squatter.close(() => r()));
    await waitFor(() => watched.listeners()[0]?.state === "open", { what: "the listener to open" });
  });

  it("gives a contested address to the second Service when the first lets go", async (t) => {
    const { proxy, events } = await setup(t, { backends: 0 });
    const shared = freshIp("127.200");
    const spec = () => ({
      clusterIP: freshIp("127.96"),
      externalIPs: [shared],
      ports: [{ port: PORT }],
    });
    proxy.upsertService(service("first", spec()));
    proxy.upsertService(service("second", spec()));
    await proxy.settled();
    assert.equal(events.filter((e) => e.includes("FrontendConflict")).length, 1);
    const owner = () =>
      proxy.listeners().find((l) => l.frontend.ip === shared && l.state === "open")?.service;
    assert.equal(owner(), "default/first");
    proxy.deleteService(service("first", {}));
    await waitFor(() => owner() === "default/second", {
      what: "the second Service to take the address",
    });
  });

  it("publishes the ingress when a Service becomes a LoadBalancer and clears it when it stops", async (t) => {
    const published: string[] = [];
    const events: string[] = [];
    const proxy = createServiceProxy({
      nodeName: "node-a",
      loadBalancerCidr: "127.101.7.0/30",
      onLoadBalancerIngress: (svc, ingress) =>
        published.push(`${svc.metadata?.name}=${ingress.map((i) => i.ip).join(",")}`),
      onEvent: (svc, type, reason) => events.push(`${svc.metadata?.name} ${type} ${reason}`),
    });
    t.after(() => proxy.close());
    const lb = (name: string) =>
      service(name, {
        type: "LoadBalancer",
        clusterIP: freshIp("127.96"),
        ports: [{ port: PORT }],
      });
    proxy.upsertService(lb("a"));
    proxy.upsertService(lb("b"));
    proxy.upsertService(lb("c")); // the /30 holds two
    proxy.upsertService(lb("c")); // reported once
    proxy.upsertService(service("a", { clusterIP: freshIp("127.96"), ports: [{ port: PORT }] }));
    await proxy.settled();
    const [ipA, ipB] = [published[0]?.split("=")[1], published[1]?.split("=")[1]];
    assert.deepEqual(new Set([ipA, ipB]), new Set(["127.101.7.1", "127.101.7.2"]));
    assert.deepEqual(published.slice(2), ["a="]);
    assert.deepEqual(events, [
      "a Normal EnsuredLoadBalancer",
      "b Normal EnsuredLoadBalancer",
      "c Warning LoadBalancerIPExhausted",
    ]);
    assert.deepEqual(proxy.loadBalancerIngressFor("default/a"), []);
    // a's address was released with its listener: c, waiting, gets it.
    await waitFor(() => published.length === 4, { what: "c to get an ingress IP" });
    assert.deepEqual(published[3], `c=${ipA}`);
    assert.equal(events.at(-1), "c Normal EnsuredLoadBalancer");
  });

  it("hands an address from a deleted Service to a new one in the same tick", async (t) => {
    const { proxy, ip, backends, events } = await setup(t, { backends: 1 });
    proxy.deleteService(service("web", {}));
    proxy.upsertService(service("web2", { clusterIP: ip, ports: [{ port: PORT }] }));
    proxy.upsertEndpointSlice(
      slice("web2-1", "web2", [{ port: TARGET }], [endpoint(backends[0]?.ip ?? "")]),
    );
    await proxy.settled();
    assert.deepEqual(events, []);
    assert.deepEqual(
      proxy.listeners().map((l) => `${l.service} ${l.state}`),
      ["default/web2 open"],
    );
    assert.equal(await fetchText(ip, PORT), backends[0]?.ip);
  });

  it("serves the health-check node port of a Local LoadBalancer Service as kube-proxy does", async (t) => {
    const healthCheckNodePort = freshNodePort();
    const { proxy, backends } = await setup(t, {
      spec: {
        type: "LoadBalancer",
        externalTrafficPolicy: "Local",
        healthCheckNodePort,
        ports: [{ port: PORT, nodePort: freshNodePort() }],
      },
    });
    const probe = async () => {
      const res = await fetch(`http://127.0.0.1:${healthCheckNodePort}/healthz`);
      return { status: res.status, type: res.headers.get("content-type"), body: await res.text() };
    };
    const ok = await probe();
    assert.equal(ok.status, 200);
    assert.equal(ok.type, "application/json");
    assert.deepEqual(JSON.parse(ok.body), {
      service: { namespace: "default", name: "web" },
      localEndpoints: 3,
      serviceProxyHealthy: true,
    });
    proxy.upsertEndpointSlice(
      slice(
        "web-1",
        "web",
        [{ port: TARGET }],
        backends.map((b) => endpoint(b.ip, undefined, "node-b")),
      ),
    );
    const none = await probe();
    assert.equal(none.status, 503);
    assert.equal(JSON.parse(none.body).localEndpoints, 0);
  });

  it("closes the listener when the Service is deleted", async (t) => {
    const { proxy, ip } = await setup(t, { backends: 1 });
    proxy.deleteService(service("web", {}));
    await proxy.settled();
    assert.deepEqual(proxy.listeners(), []);
    await assert.rejects(fetchText(ip, PORT), { code: "ECONNREFUSED" });
  });
});

describe("service proxy over UDP", { timeout: 10_000 }, () => {
  it("relays datagrams per client and replies from the Service address", async (t) => {
    const proxy = createServiceProxy({ nodeName: "node-a" });
    const backendIp = freshIp("127.244");
    const echo = await startUdpEcho(backendIp, 5353);
    const client = dgram.createSocket("udp4");
    t.after(async () => {
      client.close();
      echo.close();
      await proxy.close();
    });
    const ip = freshIp("127.96");
    proxy.upsertService(
      service("dns", { clusterIP: ip, ports: [{ port: 5300, protocol: "UDP" }] }),
    );
    proxy.upsertEndpointSlice(
      slice("dns-1", "dns", [{ port: 5353, protocol: "UDP" }], [endpoint(backendIp)]),
    );
    await proxy.settled();
    await new Promise<void>((r) => client.bind(0, "127.0.0.1", () => r()));
    const replies: { text: string; from: string }[] = [];
    const gotTwo = new Promise<void>((resolve) => {
      client.on("message", (msg, rinfo) => {
        replies.push({ text: msg.toString(), from: `${rinfo.address}:${rinfo.port}` });
        if (replies.length === 2) resolve();
      });
    });
    // Two datagrams sent at once: the second arrives while the flow is still being set up.
    client.send("ping-1", 5300, ip);
    client.send("ping-2", 5300, ip);
    await gotTwo;
    assert.deepEqual(replies.map((r) => r.text).sort(), [
      `${backendIp}:ping-1`,
      `${backendIp}:ping-2`,
    ]);
    assert.deepEqual(new Set(replies.map((r) => r.from)), new Set([`${ip}:5300`]));
  });

  it("starts a new flow when a flow's endpoint is deleted or stops serving", async (t) => {
    const proxy = createServiceProxy({ nodeName: "node-a" });
    const [ipA, ipB] = [freshIp("127.244"), freshIp("127.244")];
    const echoA = await startUdpEcho(ipA, 5353);
    const echoB = await startUdpEcho(ipB, 5353);
    const client = dgram.createSocket("udp4");
    t.after(async () => {
      client.close();
      echoA.close();
      echoB.close();
      await proxy.close();
    });
    const ip = freshIp("127.96");
    const port = [{ port: 5353, protocol: "UDP" }];
    proxy.upsertService(
      service("dns", { clusterIP: ip, ports: [{ port: 5300, protocol: "UDP" }] }),
    );
    proxy.upsertEndpointSlice(slice("dns-1", "dns", port, [endpoint(ipA)]));
    await proxy.settled();
    await new Promise<void>((r) => client.bind(0, "127.0.0.1", () => r()));
    const ask = (text: string) =>
      new Promise<string>((resolve) => {
        client.once("message", (msg) => resolve(msg.toString()));
        client.send(text, 5300, ip);
      });
    assert.equal(await ask("1"), `${ipA}:1`);
    proxy.upsertEndpointSlice(slice("dns-1", "dns", port, [endpoint(ipA), endpoint(ipB)]));
    assert.equal(await ask("2"), `${ipA}:2`, "an existing flow stays with its endpoint");
    proxy.upsertEndpointSlice(slice("dns-1", "dns", port, [endpoint(ipB)]));
    assert.equal(await ask("3"), `${ipB}:3`);
    // No longer serving while another serves: kube-proxy clears the UDP flow too.
    proxy.upsertEndpointSlice(slice("dns-1", "dns", port, [endpoint(ipA), endpoint(ipB)]));
    assert.equal(await ask("4"), `${ipB}:4`);
    const notServing = { ready: false, serving: false, terminating: false };
    proxy.upsertEndpointSlice(
      slice("dns-1", "dns", port, [endpoint(ipA), endpoint(ipB, notServing)]),
    );
    assert.equal(await ask("5"), `${ipA}:5`);
  });

  it("forgets an idle flow, so the next datagram is balanced afresh", async (t) => {
    // Long enough that two answers in a row on a loaded machine stay within one flow.
    const proxy = createServiceProxy({ nodeName: "node-a", udpIdleTimeoutMs: 1000 });
    const [ipA, ipB] = [freshIp("127.244"), freshIp("127.244")];
    const echoA = await startUdpEcho(ipA, 5353);
    const echoB = await startUdpEcho(ipB, 5353);
    const client = dgram.createSocket("udp4");
    t.after(async () => {
      client.close();
      echoA.close();
      echoB.close();
      await proxy.close();
    });
    const ip = freshIp("127.96");
    proxy.upsertService(
      service("dns", { clusterIP: ip, ports: [{ port: 5300, protocol: "UDP" }] }),
    );
    proxy.upsertEndpointSlice(
      slice("dns-1", "dns", [{ port: 5353, protocol: "UDP" }], [endpoint(ipA), endpoint(ipB)]),
    );
    await proxy.settled();
    await new Promise<void>((r) => client.bind(0, "127.0.0.1", () => r()));
    const ask = (text: string) =>
      new Promise<string>((resolve) => {
        client.once("message", (msg) => resolve(msg.toString().split(":")[0] ?? ""));
        client.send(text, 5300, ip);
      });
    const first = await ask("1");
    assert.equal(await ask("2"), first, "a live flow keeps its endpoint");
    const flows = () => proxy.listeners().find((l) => l.frontend.ip === ip)?.flows;
    assert.equal(flows(), 1);
    await waitFor(() => flows() === 0, { what: "the idle flow to be forgotten" });
    assert.notEqual(await ask("3"), first, "round robin moved on for the new flow");
  });
});
