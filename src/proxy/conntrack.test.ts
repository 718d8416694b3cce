import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { conntrackArgs } from "./conntrack.ts";

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
