// One broker of the StatefulSet: a tiny replicated message log.
//
// Who am I: the hostname (broker-0, broker-1, …; a StatefulSet pod's hostname is its name) plus
// the headless Service gives the stable name broker-1.broker.default.svc.cluster.local.
//
// Who are my peers: every second the broker asks DNS for the SRV records of the headless
// Service's port (_broker._tcp.broker.default.svc.cluster.local), which name every pod by its
// stable name, and connects to each one it is not connected to yet — by that name, never by IP,
// so a peer that comes back with a new IP is found again. On connecting it says hello and copies
// the peer's log, so a broker that restarts empty catches up.
//
// Messages: a client sends {"op":"produce","value":…} to any broker; that broker appends it to
// its log and replicates it to every connected peer before it answers, so once the client has
// its answer, the message can be read back from any broker ({"op":"read"}).
//
// Ready: once it has joined — its own name is in DNS (so DNS works) and it is connected to every
// peer DNS named. It stays ready when a peer leaves later, or a lost peer would make the others
// unready and stall the StatefulSet.
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { hostname } from "node:os";
import { connect, makeResolver, serve, within } from "./wire.js";

const podIP = process.env.POD_IP || "127.0.0.1";
const port = Number(process.env.PORT || 9092);
const service = process.env.SERVICE || "broker";
const namespace = process.env.POD_NAMESPACE || "default";
const domain = process.env.CLUSTER_DOMAIN || "cluster.local";
const name = process.env.HOSTNAME || hostname();
const me = `${name}.${service}.${namespace}.svc.${domain}`;
const srv = `_broker._tcp.${service}.${namespace}.svc.${domain}`;
const resolver = makeResolver();

const log = []; // {id, value, from}: every message this broker has, in the order it got them
const ids = new Set();
const peers = new Map(); // stable name → link
let joined = false;

function append(message) {
  if (ids.has(message.id)) return;
  ids.add(message.id);
  log.push(message);
}

async function handle(req) {
  switch (req.op) {
    case "produce": {
      const message = { id: randomUUID(), value: String(req.value), from: me };
      append(message);
      return { ok: true, id: message.id, storedOn: [me, ...(await replicate(message)).sort()] };
    }
    case "replicate":
      append(req.message);
      return { ok: true };
    case "hello":
      console.log(`${req.from} connected to me`);
      return { messages: log };
    case "read":
      return { broker: me, messages: log };
    case "status":
      return status();
    default:
      return { error: `unknown op ${JSON.stringify(req.op)}` };
  }
}

/** Sends `message` to every connected peer; resolves to the names that stored it. */
async function replicate(message) {
  const acks = [...peers].map(([peer, link]) =>
    within(2000, link.call({ op: "replicate", message }), peer).then(
      () => peer,
      () => undefined,
    ),
  );
  return (await Promise.all(acks)).filter(Boolean);
}

function status() {
  return { broker: me, joined, peers: [...peers.keys()].sort(), messages: log.length };
}

// Logs a problem once, not every second while it lasts.
let lastProblem = "";
function problem(text) {
  if (text !== lastProblem) console.log(text);
  lastProblem = text;
}

async function join(peer) {
  let link;
  try {
    link = await within(5000, connect(peer, port, resolver), peer);
    const { messages } = await within(2000, link.call({ op: "hello", from: me }), peer);
    for (const m of messages) append(m);
    peers.set(peer, link);
    link.onClose(() => {
      peers.delete(peer);
      console.log(`lost ${peer}`);
    });
    console.log(`connected to ${peer}, copied its ${messages.length} message(s)`);
  } catch (err) {
    link?.close();
    problem(`cannot reach ${peer} yet: ${err.code ?? err.message}`);
  }
}

async function discover() {
  let names;
  try {
    names = (await resolver.resolveSrv(srv)).map((r) => r.name);
  } catch (err) {
    const hint = process.env.DNS_SERVER
      ? ""
      : " (without root a pod has no resolv.conf of its own: see 'Without root' in examples/brokers/README.md)";
    return problem(`cannot resolve ${srv}: ${err.code ?? err.message}${hint}`);
  }
  if (!names.includes(me)) return problem(`${me} is not in DNS yet`);
  for (const peer of names) {
    if (peer !== me && !peers.has(peer)) await join(peer);
  }
  if (!joined && names.every((n) => n === me || peers.has(n))) {
    joined = true;
    const others = names.filter((n) => n !== me).sort();
    console.log(`joined as ${me}; peers: ${others.length ? others.join(", ") : "none yet"}`);
  }
}

async function discoverForever() {
  for (;;) {
    await discover();
    await new Promise((r) => setTimeout(r, 1000));
  }
}

// Messages on POD_IP:9092; readiness and status on POD_IP:8080 (GET /ready, GET /).
const broker = serve(handle).listen(port, podIP, () => {
  console.log(`${me} listening on ${podIP}:${port}`);
  discoverForever().catch((err) => {
    console.error(err);
    process.exit(1);
  });
});
const health = createServer((req, res) => {
  res.setHeader("content-type", "application/json");
  if (req.url === "/ready") res.statusCode = joined ? 200 : 503;
  res.end(`${JSON.stringify(status())}\n`);
}).listen(8080, podIP);

process.on("SIGTERM", () => {
  console.log("SIGTERM: leaving");
  health.close();
  broker.close();
  for (const link of peers.values()) link.close();
  process.exit(0);
});
