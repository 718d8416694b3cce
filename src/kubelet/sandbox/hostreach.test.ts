import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import dgram from "node:dgram";
import { readFileSync } from "node:fs";
import net from "node:net";
import { after, describe, test } from "node:test";
import { waitFor } from "../../_testing/index.ts";
import { type HostReach, reachableOf, startHostReach, wantedPorts } from "./hostreach.ts";

const LINUX = process.platform === "linux";
/** A random 127.x address and high port, so that runs beside other clusters do not meet. */
const randomIP = () =>
  `127.${250 + Math.floor(Math.random() * 5)}.${Math.floor(Math.random() * 250)}.${2 + Math.floor(Math.random() * 250)}`;
const randomPort = () => 20_000 + Math.floor(Math.random() * 40_000);

/** Connects, writes `ping`, half-closes; resolves what came back, or the error's code. */
function ping(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, allowHalfOpen: true });
    let b = "";
    s.on("data", (d) => {
      b += d;
    });
    s.on("end", () => {
      s.end();
      resolve(b);
    });
    s.on("error", (e: NodeJS.ErrnoException) => resolve(`error: ${e.code}`));
    s.end("ping");
  });
}

/** A server answering `got:<what it read>` only after the client's FIN. */
async function halfCloseServer(): Promise<net.Server> {
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    let b = "";
    s.on("data", (d) => {
      b += d;
    });
    s.on("end", () => s.end(`got:${b}`));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return server;
}

describe("wantedPorts", () => {
  const cases: Array<[string, number[], number[], number[]]> = [
    ["joins declared and discovered ports, ascending, once", [8080], [9000, 8080], [8080, 9000]],
    ["keeps declared ports nothing listens on yet", [8080], [], [8080]],
    ["drops ports out of range", [0, 70000], [22], [22]],
  ];
  for (const [name, declared, listening, want] of cases) {
    test(name, () => assert.deepEqual(wantedPorts(declared, listening), want));
  }
});

describe("reachableOf", () => {
  test("declares the TCP and the UDP containerPorts of init and app containers", () => {
    const got = reachableOf(
      {
        metadata: { namespace: "ns", name: "p" },
        spec: {
          initContainers: [{ name: "side", ports: [{ containerPort: 9090 }] }],
          containers: [
            {
              name: "app",
              ports: [
                { containerPort: 8080, protocol: "TCP" },
                { containerPort: 53, protocol: "UDP" },
              ],
            },
          ],
        },
      },
      { ip: "127.244.0.5", netnsPath: "/x", pids: () => [] },
    );
    assert.deepEqual(
      [got.name, got.ip, got.declared, got.declaredUdp],
      ["ns/p", "127.244.0.5", [8080, 9090], [53]],
    );
  });
});

describe("startHostReach", { skip: !LINUX && "binding 127.x addresses needs Linux" }, () => {
  const reaches: HostReach[] = [];
  const servers: net.Server[] = [];
  after(async () => {
    for (const r of reaches) await r.stop();
    for (const s of servers) s.close();
  });
  const start = (upstream: net.Server, o: { retryMs?: number } = {}) => {
    const { port } = upstream.address() as net.AddressInfo;
    const log = { info: [] as string[], warn: [] as string[], dials: [] as string[] };
    const reach = startHostReach({
      dial: (ip, p) => {
        log.dials.push(`${ip}:${p}`);
        return new Promise((resolve, reject) => {
          const s = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true });
          s.once("connect", () => resolve(s)).once("error", reject);
        });
      },
      info: (m) => log.info.push(m),
      warn: (m) => log.warn.push(m),
      pollMs: 50,
      ...o,
    });
    reaches.push(reach);
    return { reach, log };
  };

  test("a declared port answers on the host through dial, half-close kept; removed, it refuses", async () => {
    const upstream = await halfCloseServer();
    servers.push(upstream);
    const { reach, log } = start(upstream);
    const [ip, port] = [randomIP(), randomPort()];
    const owner = {};
    reach.add(owner, {
      name: "t/a",
      ip,
      declared: [port],
      netnsPath: "/nonexistent",
      pids: () => [],
    });
    await waitFor(() => reach.ports(owner).includes(`TCP ${port}`) || undefined, {
      what: "the listener",
    });
    assert.equal(await ping(ip, port), "got:ping");
    assert.deepEqual(log.dials, [`${ip}:${port}`]);
    reach.remove(owner);
    assert.equal(await ping(ip, port), "error: ECONNREFUSED");
  });

  test("a pod removed while its listener binds leaves nothing bound", async () => {
    const upstream = await halfCloseServer();
    servers.push(upstream);
    const { reach } = start(upstream);
    const [ip, port] = [randomIP(), randomPort()];
    const owner = {};
    reach.add(owner, { name: "t/r", ip, declared: [port], netnsPath: "/x", pids: () => [] });
    reach.remove(owner);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await ping(ip, port), "error: ECONNREFUSED");
  });

  test("an address already taken gets one warning and is tried again until free", async () => {
    const upstream = await halfCloseServer();
    servers.push(upstream);
    const { reach, log } = start(upstream, { retryMs: 100 });
    const [ip, port] = [randomIP(), randomPort()];
    const squatter = net.createServer((s) => s.end("squatter"));
    await new Promise<void>((r) => squatter.listen(port, ip, r));
    const owner = {};
    reach.add(owner, {
      name: "t/b",
      ip,
      declared: [port],
      netnsPath: "/nonexistent",
      pids: () => [],
    });
    await waitFor(() => log.warn.length > 0 || undefined, { what: "the EADDRINUSE warning" });
    assert.match(log.warn[0] ?? "", /pod t\/b: cannot listen on .*: EADDRINUSE/);
    await new Promise((r) => setTimeout(r, 300)); // a few retries meanwhile, still one warning
    await new Promise((r) => squatter.close(r));
    await waitFor(() => reach.ports(owner).includes(`TCP ${port}`) || undefined, {
      what: "the retry",
    });
    assert.equal(await ping(ip, port), "got:ping");
    assert.equal(log.warn.length, 1);
  });

  test("a declared UDP port relays each client's datagrams and every answer back from the pod IP", async () => {
    // The "pod": a UDP server answering each datagram twice.
    const pod = dgram.createSocket("udp4");
    pod.on("message", (m, r) => {
      pod.send(`1:${m}`, r.port, r.address);
      pod.send(`2:${m}`, r.port, r.address);
    });
    await new Promise<void>((r) => pod.bind(0, "127.0.0.1", r));
    after(() => pod.close());
    const podPort = pod.address().port;
    const reach = startHostReach({
      dial: () => Promise.reject(new Error("no TCP here")),
      dialUdp: () =>
        new Promise((resolve) => {
          const s = dgram.createSocket("udp4");
          s.connect(podPort, "127.0.0.1", () => resolve(s));
        }),
      info: () => {},
      warn: (m) => assert.fail(m),
    });
    reaches.push(reach);
    const [ip, port] = [randomIP(), randomPort()];
    const owner = {};
    reach.add(owner, {
      name: "t/u",
      ip,
      declared: [],
      declaredUdp: [port],
      netnsPath: "/x",
      pids: () => [],
    });
    await waitFor(() => reach.ports(owner).includes(`UDP ${port}`) || undefined, {
      what: "the UDP listener",
    });
    const client = dgram.createSocket("udp4");
    after(() => client.close());
    const got: string[] = [];
    const senders = new Set<string>();
    client.on("message", (m, r) => {
      got.push(String(m));
      senders.add(`${r.address}:${r.port}`);
    });
    client.send("x", port, ip);
    await waitFor(() => got.length === 2 || undefined, { what: "both answers" });
    assert.deepEqual(got.sort(), ["1:x", "2:x"]);
    assert.deepEqual([...senders], [`${ip}:${port}`]);
  });

  const unprivileged = (() => {
    try {
      return Number(readFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8"));
    } catch {
      return 1024;
    }
  })();
  test("a port below 1024 is one info line without privileges", {
    skip: (process.getuid?.() === 0 || unprivileged <= 80) && "this user may bind port 80",
  }, async () => {
    const upstream = await halfCloseServer();
    servers.push(upstream);
    const { reach, log } = start(upstream, { retryMs: 50 });
    const owner = {};
    const pod = { name: "t/c", ip: randomIP(), declared: [80], netnsPath: "/x", pids: () => [] };
    reach.add(owner, pod);
    await waitFor(() => log.info.length > 0 || undefined, { what: "the info line" });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(log.info.length, 1);
    assert.match(log.info[0] ?? "", /EACCES \(ports below 1024 need privileges/);
    assert.deepEqual(log.warn, []);
  });

  const userns = LINUX && spawnSync("unshare", ["-r", "-n", "true"]).status === 0;
  test("finds the ports a process in the pod's namespace listens on (wildcard, ::), not its 127.0.0.1; they go with it", {
    skip: !userns && "unshare -r -n cannot make a network namespace here",
  }, async () => {
    const upstream = await halfCloseServer();
    servers.push(upstream);
    const { reach, log } = start(upstream);
    const [wild, v6, local] = [randomPort(), randomPort() + 1, randomPort() + 2];
    const program = [
      `const n = require("net");`,
      `n.createServer().listen(${wild}, "0.0.0.0");`,
      `n.createServer().listen(${v6}, "::");`,
      `n.createServer().listen(${local}, "127.0.0.1", () => console.log("ready"));`,
    ].join("");
    const child = spawn(
      "unshare",
      ["-r", "-n", "sh", "-c", 'ip link set lo up && exec "$0" -e "$1"', process.execPath, program],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const exited = new Promise((r) => child.once("exit", r));
    after(() => child.kill("SIGKILL"));
    await new Promise((r) => child.stdout?.once("data", r));
    const ip = randomIP();
    const owner = {};
    reach.add(owner, {
      name: "t/d",
      ip,
      declared: [],
      netnsPath: `/proc/${child.pid}/ns/net`,
      // This test's own process is in another namespace: skipped.
      pids: () => [process.pid, child.pid as number],
    });
    const found = await waitFor(
      () => {
        const p = reach.ports(owner);
        return p.length === 2 ? p : undefined;
      },
      { what: "the discovered ports" },
    );
    assert.deepEqual(found.sort(), [`TCP ${wild}`, `TCP ${v6}`].sort());
    assert.equal(await ping(ip, wild), "got:ping");
    assert.equal(await ping(ip, local), "error: ECONNREFUSED");
    assert.deepEqual(log.dials, [`${ip}:${wild}`]);
    child.kill("SIGKILL");
    await exited;
    await waitFor(() => reach.ports(owner).length === 0 || undefined, {
      what: "the listeners gone with the process",
    });
    assert.equal(await ping(ip, wild), "error: ECONNREFUSED");
  });
});
