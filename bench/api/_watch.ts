/**
 * Watch fan-out latency: W watchers on one namespace's ConfigMaps (each its own keep-alive HTTPS
 * connection), one writer creating ConfigMaps one after another; for every write and every
 * watcher, the time from sending the create to that watcher reading its ADDED event.
 *
 * Invariant: every watcher must see every write; a missing event fails the run (after a
 * timeout) rather than shrinking the sample.
 *
 * @module
 */
import { Agent, request } from "node:https";
import { type Client, type Credentials, percentiles } from "./_load.ts";
import { configMap } from "./_objects.ts";

export interface FanoutResult {
  watchers: number;
  writes: number;
  /** Send of the create → event read by a watcher, over all (write, watcher) pairs, ms. */
  p50: number;
  p99: number;
  /** Send of the create → the last of the watchers read it, ms. */
  allP50: number;
  allP99: number;
}

export async function measureFanout(
  client: Client,
  target: { url: string; creds: Credentials; ns: string },
  options: { watchers: number; writes: number },
): Promise<FanoutResult> {
  const { ns } = target;
  const list = await client.call("GET", `/api/v1/namespaces/${ns}/configmaps`);
  const rv = (JSON.parse(list.body) as { metadata: { resourceVersion: string } }).metadata
    .resourceVersion;
  const base = new URL(target.url);
  const agent = new Agent({ keepAlive: true, maxSockets: options.watchers, ...target.creds });
  const sent: number[] = [];
  const seen: number[][] = Array.from({ length: options.writes }, () => []);
  let remaining = options.writes * options.watchers;
  let allSeen: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    allSeen = resolve;
  });
  const requests = Array.from(
    { length: options.watchers },
    () =>
      new Promise<void>((resolve, reject) => {
        const req = request(
          {
            host: base.hostname,
            port: base.port,
            agent,
            path: `/api/v1/namespaces/${ns}/configmaps?watch=1&resourceVersion=${rv}`,
          },
          (res) => {
            if (res.statusCode !== 200) reject(new Error(`watch: ${res.statusCode}`));
            resolve();
            let buf = "";
            res.setEncoding("utf8");
            res.on("data", (chunk: string) => {
              const now = performance.now();
              buf += chunk;
              let nl = buf.indexOf("\n");
              while (nl >= 0) {
                const line = buf.slice(0, nl);
                buf = buf.slice(nl + 1);
                nl = buf.indexOf("\n");
                const ev = JSON.parse(line) as {
                  type: string;
                  object: { metadata: { name: string } };
                };
                if (ev.type !== "ADDED") continue;
                const i = Number(ev.object.metadata.name.slice(2));
                seen[i]?.push(now - (sent[i] ?? now));
                if (--remaining === 0) allSeen();
              }
            });
            res.on("error", () => {});
          },
        );
        req.on("error", () => {});
        req.end();
      }),
  );
  await Promise.all(requests);
  for (let i = 0; i < options.writes; i++) {
    sent[i] = performance.now();
    await client.call("POST", `/api/v1/namespaces/${ns}/configmaps`, {
      body: configMap(ns, `w-${i}`, i),
    });
  }
  const timeout = setTimeout(allSeen, 10_000);
  await done;
  clearTimeout(timeout);
  agent.destroy();
  if (remaining > 0) throw new Error(`watch fan-out: ${remaining} events never arrived`);
  const all = percentiles(seen.flat());
  const last = percentiles(seen.map((s) => Math.max(...s)));
  return {
    watchers: options.watchers,
    writes: options.writes,
    p50: all.p50,
    p99: all.p99,
    allP50: last.p50,
    allP99: last.p99,
  };
}
