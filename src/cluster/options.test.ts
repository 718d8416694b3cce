import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkNodes, contextName, defaultDataDir, defaultUserKubeconfig } from "./options.ts";

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
