import assert from "node:assert/strict";
import { test } from "node:test";
import type { Pod, Taint, Toleration } from "kubernetes-types/core/v1.js";
import { evictionTime } from "./eviction.ts";

const NOW = Date.parse("2026-01-01T00:10:00Z");
const ADDED = "2026-01-01T00:09:00Z";
const unreachable: Taint = {
  key: "node.kubernetes.io/unreachable",
  effect: "NoExecute",
  timeAdded: ADDED,
};
const noSchedule: Taint = { key: "node.kubernetes.io/unreachable", effect: "NoSchedule" };

const pod = (tolerations: Toleration[], created = "2026-01-01T00:00:00Z"): Pod => ({
  metadata: { name: "p", creationTimestamp: created },
  spec: { containers: [], tolerations },
});
const tolerate = (seconds?: number): Toleration => ({
  key: "node.kubernetes.io/unreachable",
  operator: "Exists",
  effect: "NoExecute",
  ...(seconds !== undefined ? { tolerationSeconds: seconds } : {}),
});

test("a pod is evicted as its tolerations of NoExecute taints allow", () => {
  const cases: { why: string; p: Pod; taints: Taint[]; want: number | undefined }[] = [
    { why: "no NoExecute taint", p: pod([]), taints: [noSchedule], want: undefined },
    { why: "not tolerated: at once", p: pod([]), taints: [unreachable], want: NOW },
    {
      why: "tolerated for 300 s from the taint",
      p: pod([tolerate(300)]),
      taints: [unreachable],
      want: Date.parse(ADDED) + 300_000,
    },
    { why: "tolerated forever", p: pod([tolerate()]), taints: [unreachable], want: undefined },
    {
      why: "tolerationSeconds 0: at once",
      p: pod([tolerate(0)]),
      taints: [unreachable],
      want: NOW,
    },
    {
      why: "every key tolerated",
      p: pod([{ operator: "Exists" }]),
      taints: [unreachable],
      want: undefined,
    },
    {
      why: "a pod that came after the taint counts from its creation",
      p: pod([tolerate(60)], "2026-01-01T00:09:30Z"),
      taints: [unreachable],
      want: Date.parse("2026-01-01T00:09:30Z") + 60_000,
    },
    {
      why: "one of two taints untolerated",
      p: pod([tolerate(300)]),
      taints: [
        unreachable,
        { key: "node.kubernetes.io/not-ready", effect: "NoExecute", timeAdded: ADDED },
      ],
      want: NOW,
    },
  ];
  for (const c of cases) assert.equal(evictionTime(c.p, c.taints, NOW), c.want, c.why);
});
