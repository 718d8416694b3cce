import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { nodeNames, nodePodCidrs } from "./nodes.ts";

describe("nodeNames", () => {
  test("the first node keeps the cluster's name, the others are numbered from 2", () => {
    assert.deepEqual(nodeNames("dev", 1), ["dev"]);
    assert.deepEqual(nodeNames("dev", 3), ["dev", "dev-2", "dev-3"]);
  });
  test("rejects a count below one", () => {
    assert.throws(() => nodeNames("dev", 0), { name: "NodesError" });
  });
});

describe("nodePodCidrs", () => {
  const cases: Array<[string, number, string[]]> = [
    ["127.244.0.0/16", 1, ["127.244.0.0/16"]],
    ["127.244.0.0/16", 2, ["127.244.0.0/17", "127.244.128.0/17"]],
    ["127.244.0.0/16", 3, ["127.244.0.0/18", "127.244.64.0/18", "127.244.128.0/18"]],
    ["127.160.0.0/11", 1364, ["127.160.0.0/22", "127.160.4.0/22"]],
  ];
  for (const [cidr, n, want] of cases) {
    test(`${n} nodes in ${cidr} get disjoint blocks starting ${want[0]}`, () => {
      const got = nodePodCidrs(cidr, n);
      assert.equal(got.length, n);
      assert.deepEqual(got.slice(0, want.length), want);
      assert.equal(new Set(got).size, n);
    });
  }
  test("refuses blocks too small for a node's 110 pods", () => {
    assert.throws(() => nodePodCidrs("127.244.0.0/16", 1000), /too small for 1000 nodes/);
  });
});
