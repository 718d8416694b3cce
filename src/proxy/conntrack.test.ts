import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, test } from "node:test";
import { conntrackArgs, conntrackBatch, deleteUdpFlows } from "./conntrack.ts";

describe("conntrackArgs", () => {
  const cases = [
    {
      name: "flows DNATed to a removed endpoint: matched by the reply's source",
      stale: { frontend: "127.96.0.10:53", endpoint: "127.244.0.2:5353" },
      want: "-D -p udp --orig-dst 127.96.0.10 --orig-port-dst 53 --reply-src 127.244.0.2 --reply-port-src 5353",
    },
    {
      name: "every flow to a frontend that had no endpoints",
      stale: { frontend: "127.96.0.10:53" },
      want: "-D -p udp --orig-dst 127.96.0.10 --orig-port-dst 53",
    },
  ];
  for (const c of cases) {
    test(c.name, () => assert.equal(conntrackArgs(c.stale).join(" "), c.want));
  }
});

const STALE = [
  { frontend: "127.96.0.10:53", endpoint: "127.244.0.2:5353" },
  { frontend: "127.96.0.11:53" },
];

const fail = (e: unknown) => assert.fail(String(e));

describe("deleteUdpFlows", () => {
  test("the stale flows of one change are deleted by one conntrack process", async () => {
    const runs: string[] = [];
    await deleteUdpFlows(STALE, fail, async (batch) => {
      runs.push(batch);
    });
    assert.deepEqual(runs, [conntrackBatch(STALE)]);
    assert.equal(runs[0]?.split("\n").filter(Boolean).length, 2);
  });
  test("nothing stale: no process", async () => {
    let runs = 0;
    await deleteUdpFlows([], fail, async () => {
      runs++;
    });
    assert.equal(runs, 0);
  });
  test("a failure is reported, not thrown", async () => {
    const errors: unknown[] = [];
    await deleteUdpFlows(
      STALE,
      (e) => errors.push(e),
      async () => {
        throw new Error("conntrack -R -: boom");
      },
    );
    assert.equal(errors.length, 1);
  });

  const live =
    process.getuid?.() === 0 &&
    spawnSync("conntrack", ["--version"]).status === 0 &&
    spawnSync("unshare", ["-n", "true"]).status === 0;
  test("in a private network namespace: one conntrack -R deletes exactly the stale flows, a line matching nothing included", {
    skip: live ? false : "needs root, conntrack and unshare",
  }, () => {
    // UDP flows on the namespace's own loopback (tracked once a table hooks output); the sender
    // is a node one-liner; nothing leaves the namespace.
    const send = `const s=require("dgram").createSocket("udp4");s.bind(0,"127.0.0.1",()=>{for(const [p,ip] of [[53,"127.96.0.10"],[53,"127.96.0.11"],[54,"127.96.0.11"]])s.send("x",p,ip);setTimeout(()=>s.close(),100)})`;
    const batch = conntrackBatch([
      { frontend: "127.96.0.10:53", endpoint: "127.96.0.10:53" },
      { frontend: "127.96.0.11:53" },
      { frontend: "127.96.0.12:53" },
    ]);
    const script = [
      "ip link set lo up",
      "nft add table ip t",
      "nft add chain ip t o '{ type filter hook output priority 0; }'",
      "nft add rule ip t o ct state new accept",
      `${JSON.stringify(process.execPath)} -e "$1"`,
      `${JSON.stringify(process.execPath)} --import tsx --input-type=module -e "$2"`,
      "conntrack -L -p udp 2>/dev/null",
    ].join("\n");
    // The deletion is this module's own runner, run inside the namespace.
    const remove = `import { runConntrack } from ${JSON.stringify(join(import.meta.dirname, "conntrack.ts"))}; await runConntrack(${JSON.stringify(batch)});`;
    const r = spawnSync("unshare", ["-n", "sh", "-ec", script, "sh", send, remove], {
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    const left = [...new Set(r.stdout.match(/dst=127\.96\.0\.\d+ sport=\d+ dport=\d+/g) ?? [])];
    assert.deepEqual(
      left.map((l) => l.replace(/ sport=\d+/, "")),
      ["dst=127.96.0.11 dport=54"],
    );
  });
});
