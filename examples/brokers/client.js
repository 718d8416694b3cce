// The brokers' client: sends a message to one broker, reads the log of another, or asks one for
// its status — each broker chosen by its stable DNS name.
//
//   node examples/brokers/client.js --dns 127.0.0.1:<dns-port> send broker-0.broker.default.svc.cluster.local "hello"
//   node examples/brokers/client.js --dns 127.0.0.1:<dns-port> read broker-2.broker.default.svc.cluster.local
//   node examples/brokers/client.js --dns 127.0.0.1:<dns-port> status broker-1.broker.default.svc.cluster.local
//
// --dns is the cluster DNS address `loopkube up` prints (default: DNS_SERVER, else the system's
// resolver). A short name such as broker-0 means broker-0.broker.default.svc.cluster.local.
// Exit status 0 on success, 1 with one line on stderr otherwise.
import { parseArgs } from "node:util";
import { connect, makeResolver, within } from "./wire.js";

const USAGE =
  "usage: client.js [--dns host:port] [--port 9092] send|read|status <broker> [message]";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { dns: { type: "string" }, port: { type: "string", default: "9092" } },
});
const [command, broker, ...words] = positionals;
if (!broker || !["send", "read", "status"].includes(command ?? "")) {
  console.error(USAGE);
  process.exit(2);
}
const host = broker.includes(".") ? broker : `${broker}.broker.default.svc.cluster.local`;
const request =
  command === "send"
    ? { op: "produce", value: words.join(" ") }
    : { op: command === "read" ? "read" : "status" };

try {
  const link = await within(
    5000,
    connect(host, Number(values.port), makeResolver(values.dns)),
    host,
  );
  const reply = await within(5000, link.call(request), host);
  link.close();
  if (reply.error) throw new Error(reply.error);
  if (command === "send") {
    console.log(`stored on ${reply.storedOn.join(", ")}`);
  } else if (command === "read") {
    console.log(`${reply.broker} holds ${reply.messages.length} message(s):`);
    for (const m of reply.messages) console.log(`  ${m.value}    (sent to ${m.from})`);
  } else {
    console.log(JSON.stringify(reply, null, 2));
  }
} catch (err) {
  console.error(`client: ${host}: ${err.code ?? err.message}`);
  process.exit(1);
}
