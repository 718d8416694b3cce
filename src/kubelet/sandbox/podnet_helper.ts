/**
 * The node-namespace helper of rootless pod networks (podnet_rootless.ts): a small Node program,
 * run as `node -e NODE_HELPER` inside the cluster's user+network+mount namespaces, that does for
 * the agent outside what only a process inside can do. It speaks over its IPC channel:
 *
 * - `{ op: "ip", id, batch, files }`: writes `files` (path → text), runs `ip -batch -` with
 *   `batch`, removes the files, answers `{ id, error? }`;
 * - `{ op: "dial", id, host, port }`: connects to host:port in the node namespace and answers
 *   `{ id }` with the connected socket as the handle (SCM_RIGHTS), or `{ id, error, code }`;
 * - `{ op: "udp", id }`: answers `{ id }` with a UDP socket bound in the node namespace as the
 *   handle (the agent connects it to a pod IP: the socket routes in the namespace it was made in);
 * - `{ op: "listen", id, ip, port, proto }`: listens on ip:port in the node namespace (a
 *   ClusterIP, kube-dns) and answers `{ id, error? }`; each accepted TCP connection is handed to
 *   the agent as `{ op: "accepted", ip, port }` with the socket; each UDP datagram is sent as
 *   `{ op: "datagram", ip, port, from, fromPort, data }` (base64) and `{ op: "reply", ip, port,
 *   to, toPort, data }` from the agent is sent back from that listener;
 * - `{ op: "unlisten", ip, port, proto }`.
 *
 * It exits when its channel closes (the agent stopped or died), and the kernel then removes
 * every namespace it held; the agent also starts it under `setpriv --pdeathsig KILL`.
 *
 * @module
 */

export const NODE_HELPER = `
const net = require("net");
const dgram = require("dgram");
const fs = require("fs");
const { spawn } = require("child_process");
process.on("disconnect", () => process.exit(0));
const send = (m, h) => { try { process.send(m, h); } catch {} };
const ip = (batch) => new Promise((resolve) => {
  const c = spawn("ip", ["-batch", "-"], { stdio: ["pipe", "ignore", "pipe"] });
  let err = "";
  c.stderr.setEncoding("utf8").on("data", (d) => { err += d; });
  c.once("error", (e) => resolve(e.message));
  c.once("close", (code) => resolve(code === 0 ? undefined : err.trim() || "ip exited with " + code));
  c.stdin.end(batch);
});
const listeners = new Map();
const key = (m) => m.proto + " " + m.ip + ":" + m.port;
process.on("message", async (m) => {
  if (m.op === "ip") {
    const files = Object.entries(m.files || {});
    try { for (const [p, t] of files) fs.writeFileSync(p, t); } catch (e) { return send({ id: m.id, error: e.message }); }
    const error = await ip(m.batch);
    for (const [p] of files) fs.rmSync(p, { force: true });
    send({ id: m.id, error });
  } else if (m.op === "dial") {
    const s = net.connect(m.port, m.host);
    s.pause();
    s.once("error", (e) => send({ id: m.id, error: e.message, code: e.code }));
    s.once("connect", () => send({ id: m.id }, s));
  } else if (m.op === "udp") {
    const u = dgram.createSocket("udp4");
    u.once("error", (e) => send({ id: m.id, error: e.message, code: e.code }));
    u.bind(0, () => { try { process.send({ id: m.id }, u, () => u.close()); } catch { u.close(); } });
  } else if (m.op === "listen") {
    const k = key(m);
    if (listeners.has(k)) return send({ id: m.id });
    if (m.proto === "UDP") {
      const u = dgram.createSocket("udp4");
      u.on("message", (data, r) => send({ op: "datagram", ip: m.ip, port: m.port, from: r.address, fromPort: r.port, data: data.toString("base64") }));
      u.once("error", (e) => { listeners.delete(k); send({ id: m.id, error: e.message }); });
      u.bind(m.port, m.ip, () => { listeners.set(k, u); send({ id: m.id }); });
    } else {
      const srv = net.createServer({ pauseOnConnect: true }, (s) => send({ op: "accepted", ip: m.ip, port: m.port }, s));
      srv.once("error", (e) => { listeners.delete(k); send({ id: m.id, error: e.message }); });
      srv.listen(m.port, m.ip, () => { listeners.set(k, srv); send({ id: m.id }); });
    }
  } else if (m.op === "unlisten") {
    const l = listeners.get(key(m));
    listeners.delete(key(m));
    l && l.close();
  } else if (m.op === "reply") {
    const u = listeners.get("UDP " + m.ip + ":" + m.port);
    if (u) u.send(Buffer.from(m.data, "base64"), m.toPort, m.to);
  }
});
send({ op: "ready" });
`;
