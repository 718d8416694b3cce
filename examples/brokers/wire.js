// What the brokers and the client share: how names are resolved and how they talk.
//
// Names: every lookup goes through one DNS resolver. Inside a pod that is the cluster DNS from
// the pod's /etc/resolv.conf, exactly as on a real cluster. DNS_SERVER (host:port) points the
// resolver somewhere else: the client on the host uses it, and so do pods when loopkube runs
// without root (no pod gets a resolv.conf of its own then; see README.md).
//
// Talk: newline-delimited JSON over TCP. Each line sent is a request; the other side answers
// each request with one line, in order, so a reply is matched to its request by position.
import { Resolver } from "node:dns/promises";
import { createConnection, createServer } from "node:net";
import { createInterface } from "node:readline";

export function makeResolver(server = process.env.DNS_SERVER) {
  const resolver = new Resolver({ timeout: 1000, tries: 2 });
  if (server) resolver.setServers([server]);
  return resolver;
}

/** A `lookup` for net.connect that asks `resolver` (A records), so names resolve the same way everywhere. */
function lookupWith(resolver) {
  return (hostname, options, callback) => {
    resolver.resolve4(hostname).then(
      (ips) =>
        options.all
          ? callback(
              null,
              ips.map((address) => ({ address, family: 4 })),
            )
          : callback(null, ips[0], 4),
      (err) => callback(err),
    );
  };
}

/**
 * Connects to `host` (a DNS name) on `port`. Resolves to a link whose `call(request)` resolves
 * to the reply; `onClose` runs once when the connection ends, for whatever reason.
 */
export function connect(host, port, resolver) {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host, port, lookup: lookupWith(resolver) });
    const waiting = [];
    let closed = false;
    const onClose = [];
    socket.on("close", () => {
      closed = true;
      for (const w of waiting.splice(0)) w.reject(new Error(`${host} closed the connection`));
      for (const fn of onClose) fn();
    });
    socket.once("error", reject);
    socket.once("connect", () => {
      socket.off("error", reject);
      socket.on("error", () => {}); // "close" follows and says it.
      lines(socket, (line) => waiting.shift()?.resolve(JSON.parse(line)));
      resolve({
        call(request) {
          if (closed) return Promise.reject(new Error(`${host} is not connected`));
          return new Promise((ok, fail) => {
            waiting.push({ resolve: ok, reject: fail });
            socket.write(`${JSON.stringify(request)}\n`);
          });
        },
        onClose: (fn) => onClose.push(fn),
        close: () => socket.end(),
      });
    });
  });
}

/** A TCP server answering each request line with `await handle(request)`, one at a time per connection. */
export function serve(handle) {
  return createServer((socket) => {
    let queue = Promise.resolve();
    socket.on("error", () => {}); // a client that goes away is no error of ours
    lines(socket, (line) => {
      queue = queue.then(async () => {
        let reply;
        try {
          reply = await handle(JSON.parse(line));
        } catch (err) {
          reply = { error: err instanceof Error ? err.message : String(err) };
        }
        if (!socket.destroyed) socket.write(`${JSON.stringify(reply)}\n`);
      });
    });
  });
}

/** Calls `onLine` with each line `socket` receives; socket errors end the lines, quietly. */
function lines(socket, onLine) {
  createInterface({ input: socket })
    .on("line", onLine)
    .on("error", () => {});
}

/** Rejects when `promise` has not settled after `ms`. */
export function within(ms, promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
