import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  checkNodes,
  contextName,
  defaultDataDir,
  defaultUserKubeconfig,
  nthAddress,
} from "./options.ts";

describe("nthAddress", () => {
  const cases: Array<[string, number, string]> = [
    ["127.96.0.0/16", 1, "127.96.0.1"],
    ["127.96.0.0/16", 10, "127.96.0.10"],
    ["10.96.0.0/12", 10, "10.96.0.10"],
    ["127.97.5.7/24", 1, "127.97.5.1"],
  ];
  for (const [cidr, n, want] of cases) {
    test(`address ${n} of ${cidr} is ${want}`, () => assert.equal(nthAddress(cidr, n), want));
  }
  test("rejects what is not an IPv4 CIDR", () => {
    assert.throws(() => nthAddress("fd00::/108", 1), { name: "ClusterError" });
    assert.throws(() => nthAddress("127.96.0.0/30", 1), { name: "ClusterError" });
  });
});

describe("defaults", () => {
  test("the data dir follows XDG_DATA_HOME, per cluster name", () => {
    assert.equal(defaultDataDir("dev", { XDG_DATA_HOME: "/x/data" }), "/x/data/loopkube/dev");
  });
  test("the user's kubeconfig is KUBECONFIG's first entry", () => {
    assert.equal(defaultUserKubeconfig({ KUBECONFIG: "/a/one:/b/two" }), "/a/one");
  });
  test("the context is named loopkube-<name>", () =>
    assert.equal(contextName("dev"), "loopkube-dev"));
});

describe("checkNodes", () => {
  const cases: Array<[number, "process" | "simulated", RegExp | undefined]> = [
    [1, "process", undefined],
    [1, "simulated", undefined],
    [1400, "simulated", undefined],
    [2, "process", /2 nodes need the simulated runtime/],
    [0, "simulated", /not a whole number from 1 to 10000/],
    [1.5, "simulated", /not a whole number/],
    [10_001, "simulated", /not a whole number/],
  ];
  for (const [n, runtime, error] of cases) {
    test(`${n} node(s) with the ${runtime} runtime ${error ? "are refused" : "are accepted"}`, () => {
      if (error)
        assert.throws(() => checkNodes(n, runtime), { name: "ClusterError", message: error });
      else checkNodes(n, runtime);
    });
  }
});
