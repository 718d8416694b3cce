import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../types.ts";
import { calculateUsage, checkQuota, evaluatorFor, formatResourceList } from "./index.ts";

const quota = (
  name: string,
  hard: Record<string, string>,
  used: Record<string, string>,
  spec: object = {},
) => ({ metadata: { name }, spec: { hard, ...spec }, status: { hard, used } }) as KubeObject;
const pod = (name: string, resources: object = {}, spec: object = {}) => ({
  metadata: { name, namespace: "ns" },
  spec: { containers: [{ name: "app", resources }], ...spec },
});
const PODS = evaluatorFor("", "pods");

test("checkQuota refuses in kube's words or names each quota's new usage", () => {
  const cases: Array<
    [string, KubeObject[], Record<string, unknown>, string | Record<string, string>[]]
  > = [
    ["within the quota", [quota("q", { pods: "2" }, { pods: "1" })], pod("a"), [{ pods: "2" }]],
    [
      "over the pod count",
      [quota("q", { pods: "1" }, { pods: "1" })],
      pod("a"),
      "exceeded quota: q, requested: pods=1, used: pods=1, limited: pods=1",
    ],
    [
      "over requests.cpu, sums shown canonically",
      [quota("c", { "requests.cpu": "1", pods: "10" }, { "requests.cpu": "800m", pods: "1" })],
      pod("a", { requests: { cpu: "300m" } }),
      "exceeded quota: c, requested: requests.cpu=300m, used: requests.cpu=800m, limited: requests.cpu=1",
    ],
    [
      "a compute quota needs the container to state it",
      [quota("c", { "limits.memory": "1Gi" }, { "limits.memory": "0" })],
      pod("a"),
      "failed quota: c: must specify limits.memory for: app",
    ],
    [
      "a quota not yet counted",
      [quota("q", { pods: "1" }, {})],
      pod("a"),
      "status unknown for quota: q, resources: pods",
    ],
    [
      "a quota counted for some of its resources only",
      [quota("q", { pods: "1", "requests.cpu": "1" }, { pods: "0" })],
      pod("a", { requests: { cpu: "1" } }),
      "status unknown for quota: q, resources: requests.cpu",
    ],
    [
      "a BestEffort quota ignores a pod with requests",
      [quota("b", { pods: "0" }, { pods: "0" }, { scopes: ["BestEffort"] })],
      pod("a", { requests: { cpu: "1" }, limits: { cpu: "1" } }),
      [],
    ],
  ];
  for (const [what, quotas, object, want] of cases) {
    const verdict = checkQuota(PODS, quotas, { object, now: 0 });
    if (typeof want === "string") assert.deepEqual(verdict, { refused: want }, what);
    else
      assert.deepEqual(
        "charges" in verdict ? verdict.charges.map((c) => formatResourceList(c.used)) : verdict,
        want,
        what,
      );
  }
});

test("checkQuota counts any resource as count/<resource>.<group>", () => {
  const deployments = evaluatorFor("apps", "deployments");
  const verdict = checkQuota(
    deployments,
    [quota("q", { "count/deployments.apps": "1" }, { "count/deployments.apps": "1" })],
    { object: { metadata: { name: "d" } }, now: 0 },
  );
  assert.deepEqual(verdict, {
    refused:
      "exceeded quota: q, requested: count/deployments.apps=1, used: count/deployments.apps=1, limited: count/deployments.apps=1",
  });
});

test("calculateUsage sums what the quota names and leaves finished pods out of compute", () => {
  const q = quota("q", { pods: "5", "requests.memory": "1Gi", "count/pods": "9" }, {});
  const pods = [
    pod("a", { requests: { memory: "512Mi" } }),
    pod("b", { requests: { memory: "256Mi" } }),
    { ...pod("c", { requests: { memory: "1Gi" } }), status: { phase: "Succeeded" } },
  ];
  const used = calculateUsage(q, (e) => (e.resource === "pods" ? pods : undefined), 0);
  assert.deepEqual(formatResourceList(used), {
    "count/pods": "3",
    pods: "2",
    "requests.memory": "768Mi",
  });
});
