import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type HpaMemory,
  type NormalizeInput,
  newMemory,
  normalizeReplicas,
  recordInitial,
  recordScale,
} from "./_normalize.ts";

const NOW = 1_000_000_000;
const WINDOW = 300_000;

const cases: Array<{
  name: string;
  input: NormalizeInput;
  /** Earlier recommendations: [replicas, seconds ago]. */
  history?: Array<[number, number]>;
  /** Earlier rescales: [from, to, seconds ago]. */
  scales?: Array<[number, number, number]>;
  want: [replicas: number, ableToScale: string, limited: boolean, scalingLimited: string];
}> = [
  {
    name: "a proposal within range is taken",
    input: { currentReplicas: 2, proposed: 3, minReplicas: 1, maxReplicas: 10 },
    want: [3, "ReadyForNewScale", false, "DesiredWithinRange"],
  },
  {
    name: "a proposal above max is held at max",
    input: { currentReplicas: 4, proposed: 12, minReplicas: 1, maxReplicas: 6 },
    want: [6, "ReadyForNewScale", true, "TooManyReplicas"],
  },
  {
    name: "a proposal below min is held at min",
    input: { currentReplicas: 3, proposed: 1, minReplicas: 2, maxReplicas: 6 },
    want: [2, "ReadyForNewScale", true, "TooFewReplicas"],
  },
  {
    name: "without behavior, scale-up is limited to max(2 × current, 4)",
    input: { currentReplicas: 3, proposed: 20, minReplicas: 1, maxReplicas: 50 },
    want: [6, "ReadyForNewScale", true, "ScaleUpLimit"],
  },
  {
    name: "without behavior, the highest recommendation of the last 5 min wins",
    input: { currentReplicas: 5, proposed: 2, minReplicas: 1, maxReplicas: 10 },
    history: [
      [5, 200],
      [4, 100],
    ],
    want: [5, "ScaleDownStabilized", false, "DesiredWithinRange"],
  },
  {
    name: "without behavior, recommendations older than the window are forgotten",
    input: { currentReplicas: 5, proposed: 2, minReplicas: 1, maxReplicas: 10 },
    history: [[5, 301]],
    want: [2, "ReadyForNewScale", false, "DesiredWithinRange"],
  },
  {
    name: "with behavior, the default scale-up allows max(4 pods, 100 %) per 15 s",
    input: { currentReplicas: 10, proposed: 40, minReplicas: 1, maxReplicas: 100, behavior: {} },
    want: [20, "ReadyForNewScale", true, "ScaleUpLimit"],
  },
  {
    name: "with behavior, a Pods policy limits the scale-up from the period's start",
    input: {
      currentReplicas: 4,
      proposed: 10,
      minReplicas: 1,
      maxReplicas: 20,
      behavior: { scaleUp: { policies: [{ type: "Pods", value: 2, periodSeconds: 60 }] } },
    },
    scales: [[3, 4, 30]],
    want: [5, "ReadyForNewScale", true, "ScaleUpLimit"],
  },
  {
    name: "with behavior, selectPolicy Min takes the policy allowing the least change",
    input: {
      currentReplicas: 10,
      proposed: 2,
      minReplicas: 1,
      maxReplicas: 20,
      behavior: {
        scaleDown: {
          stabilizationWindowSeconds: 0,
          selectPolicy: "Min",
          policies: [
            { type: "Pods", value: 4, periodSeconds: 60 },
            { type: "Percent", value: 10, periodSeconds: 60 },
          ],
        },
      },
    },
    want: [9, "ReadyForNewScale", true, "ScaleDownLimit"],
  },
  {
    name: "with behavior, selectPolicy Disabled never scales that way",
    input: {
      currentReplicas: 6,
      proposed: 2,
      minReplicas: 1,
      maxReplicas: 20,
      behavior: { scaleDown: { stabilizationWindowSeconds: 0, selectPolicy: "Disabled" } },
    },
    want: [6, "ReadyForNewScale", true, "ScaleDownLimit"],
  },
  {
    name: "with behavior, the scale-down window defaults to the controller's and keeps the highest",
    input: { currentReplicas: 6, proposed: 2, minReplicas: 1, maxReplicas: 20, behavior: {} },
    history: [[5, 120]],
    want: [5, "ScaleDownStabilized", false, "DesiredWithinRange"],
  },
  {
    name: "with behavior, a scale-up window keeps the lowest recent recommendation",
    input: {
      currentReplicas: 2,
      proposed: 8,
      minReplicas: 1,
      maxReplicas: 20,
      behavior: { scaleUp: { stabilizationWindowSeconds: 60 } },
    },
    history: [[3, 30]],
    want: [3, "ScaleUpStabilized", false, "DesiredWithinRange"],
  },
];

for (const c of cases) {
  test(`normalizeReplicas: ${c.name}`, () => {
    const memory: HpaMemory = newMemory();
    for (const [replicas, ago] of c.history ?? []) {
      memory.recommendations.push({ replicas, at: NOW - ago * 1000 });
    }
    for (const [from, to, ago] of c.scales ?? []) {
      recordScale(memory, { from, to, behavior: c.input.behavior }, NOW - ago * 1000);
    }
    const got = normalizeReplicas(c.input, memory, { now: NOW, downscaleStabilizationMs: WINDOW });
    assert.deepEqual(
      [got.replicas, got.ableToScale.reason, got.limited, got.scalingLimited.reason],
      c.want,
    );
  });
}

test("normalizeReplicas records each proposal, reusing a slot past the window", () => {
  const memory = newMemory();
  recordInitial(memory, 3, NOW - 400_000);
  recordInitial(memory, 9, NOW - 300_000);
  assert.deepEqual(memory.recommendations, [{ replicas: 3, at: NOW - 400_000 }]);
  const input = { currentReplicas: 3, proposed: 1, minReplicas: 1, maxReplicas: 5 };
  normalizeReplicas(input, memory, { now: NOW, downscaleStabilizationMs: WINDOW });
  assert.deepEqual(memory.recommendations, [{ replicas: 1, at: NOW }]);
});
