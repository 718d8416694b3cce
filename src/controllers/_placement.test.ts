import assert from "node:assert/strict";
import { test } from "node:test";
import type { NodeSelectorTerm, Pod } from "kubernetes-types/core/v1.js";
import { compileNodeAffinity } from "./_placement.ts";

const withTerms = (nodeSelectorTerms: NodeSelectorTerm[]): Pod => ({
  spec: {
    containers: [],
    affinity: {
      nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms } },
    },
  },
});
const NODE = { "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "example.com/gen": "5" };

test("required node affinity: terms ORed, expressions and fields ANDed, kube's operators", () => {
  // [case, terms, matches the node "n1" with NODE's labels]
  const cases: Array<[string, NodeSelectorTerm[], boolean]> = [
    [
      "In",
      [
        {
          matchExpressions: [
            { key: "kubernetes.io/os", operator: "In", values: ["linux", "windows"] },
          ],
        },
      ],
      true,
    ],
    [
      "In, no value matches",
      [{ matchExpressions: [{ key: "kubernetes.io/arch", operator: "In", values: ["arm64"] }] }],
      false,
    ],
    [
      "NotIn",
      [{ matchExpressions: [{ key: "kubernetes.io/arch", operator: "NotIn", values: ["arm64"] }] }],
      true,
    ],
    [
      "NotIn of a missing label holds",
      [{ matchExpressions: [{ key: "zone", operator: "NotIn", values: ["a"] }] }],
      true,
    ],
    ["Exists", [{ matchExpressions: [{ key: "kubernetes.io/os", operator: "Exists" }] }], true],
    [
      "DoesNotExist",
      [{ matchExpressions: [{ key: "kubernetes.io/os", operator: "DoesNotExist" }] }],
      false,
    ],
    [
      "Gt",
      [{ matchExpressions: [{ key: "example.com/gen", operator: "Gt", values: ["4"] }] }],
      true,
    ],
    [
      "Lt",
      [{ matchExpressions: [{ key: "example.com/gen", operator: "Lt", values: ["5"] }] }],
      false,
    ],
    [
      "expressions of one term are ANDed",
      [
        {
          matchExpressions: [
            { key: "kubernetes.io/os", operator: "In", values: ["linux"] },
            { key: "kubernetes.io/arch", operator: "In", values: ["arm64"] },
          ],
        },
      ],
      false,
    ],
    [
      "terms are ORed",
      [
        { matchExpressions: [{ key: "kubernetes.io/arch", operator: "In", values: ["arm64"] }] },
        { matchExpressions: [{ key: "kubernetes.io/arch", operator: "In", values: ["amd64"] }] },
      ],
      true,
    ],
    [
      "matchFields on the node's name",
      [{ matchFields: [{ key: "metadata.name", operator: "In", values: ["n1"] }] }],
      true,
    ],
    [
      "matchFields, another node",
      [{ matchFields: [{ key: "metadata.name", operator: "NotIn", values: ["n1"] }] }],
      false,
    ],
    ["an empty term matches nothing", [{}], false],
  ];
  for (const [name, terms, want] of cases)
    assert.equal(compileNodeAffinity(withTerms(terms))(NODE, "n1"), want, name);
  assert.equal(compileNodeAffinity({ spec: { containers: [] } })(NODE, "n1"), true, "no affinity");
});
