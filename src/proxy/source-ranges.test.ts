import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { allowedSources, sourceAllowed, sourceRangesOf } from "./source-ranges.ts";

const NODE = "127.0.0.2";
const LB = "127.100.0.7";

describe("sourceRangesOf and sourceAllowed", () => {
  const cases: {
    name: string;
    ranges: string[] | undefined;
    want: ReturnType<typeof sourceRangesOf>;
    allowed: string[];
    refused: string[];
  }[] = [
    {
      name: "no ranges: anyone",
      ranges: undefined,
      want: undefined,
      allowed: ["127.78.0.5", "10.0.0.1"],
      refused: [],
    },
    {
      name: "trimmed, host bits cleared, deduplicated",
      ranges: [" 127.77.1.9/16", "127.77.0.0/16 ", "127.1.2.3/32"],
      want: { cidrs: ["127.77.0.0/16", "127.1.2.3/32"], allowNode: false },
      allowed: ["127.77.200.1", "127.1.2.3", "::ffff:127.77.0.1"],
      refused: ["127.78.0.5", "127.1.2.4", LB],
    },
    {
      name: "a range holding the node's IP lets the load balancer IP reach itself",
      ranges: ["127.0.0.0/24"],
      want: { cidrs: ["127.0.0.0/24"], allowNode: true },
      allowed: [NODE, LB],
      refused: ["127.78.0.5"],
    },
    {
      name: "0.0.0.0/0 among them: anyone",
      ranges: ["127.77.0.0/16", "0.0.0.0/0"],
      want: undefined,
      allowed: ["127.78.0.5"],
      refused: [],
    },
    {
      name: "IPv6 and unparsable entries are ignored; none left: anyone (kube-proxy's other family)",
      ranges: ["fd00::/8", "nonsense", "127.0.0.1"],
      want: undefined,
      allowed: ["127.78.0.5"],
      refused: [],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const got = sourceRangesOf(c.ranges, NODE);
      assert.deepEqual(got, c.want);
      for (const ip of c.allowed) assert.equal(sourceAllowed(got, ip, LB), true, ip);
      for (const ip of c.refused) assert.equal(sourceAllowed(got, ip, LB), false, ip);
    });
  }
  test("allowedSources: the CIDRs, and the load balancer IPs when the node is in range", () => {
    assert.deepEqual(allowedSources({ cidrs: ["127.77.0.0/16"], allowNode: false }, [LB]), [
      "127.77.0.0/16",
    ]);
    assert.deepEqual(allowedSources({ cidrs: ["127.0.0.0/8"], allowNode: true }, [LB]), [
      "127.0.0.0/8",
      LB,
    ]);
  });
});
