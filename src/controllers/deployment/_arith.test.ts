import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Deployment, ReplicaSet } from "kubernetes-types/apps/v1.js";
import {
  cleanupUnhealthy,
  maxScaledDown,
  maxSurge,
  maxUnavailable,
  newReplicaSetReplicas,
  proportionalSizes,
  resolveFenceposts,
  scaleDownOldForRolling,
  scaledValue,
} from "./_arith.ts";

function deployment(
  replicas: number,
  surge: number | string = "25%",
  unavailable: number | string = "25%",
  type = "RollingUpdate",
): Deployment {
  return {
    metadata: { name: "web" },
    spec: {
      replicas,
      selector: {},
      template: {},
      strategy:
        type === "RollingUpdate"
          ? { type, rollingUpdate: { maxSurge: surge, maxUnavailable: unavailable } }
          : { type },
    },
  };
}

function rs(
  name: string,
  spec: number,
  available = spec,
  o: { created?: string; max?: number } = {},
): ReplicaSet {
  return {
    metadata: {
      name,
      creationTimestamp: o.created ?? `2026-01-01T00:00:0${name.length % 10}Z`,
      ...(o.max !== undefined
        ? { annotations: { "deployment.kubernetes.io/max-replicas": String(o.max) } }
        : {}),
    },
    spec: { replicas: spec, selector: {} },
    status: { replicas: spec, availableReplicas: available },
  };
}

describe("resolveFenceposts", () => {
  const cases: Array<[number | string, number | string, number, number, number]> = [
    // maxSurge, maxUnavailable, replicas → surge, unavailable
    ["25%", "25%", 10, 3, 2],
    ["25%", "25%", 4, 1, 1],
    ["25%", "25%", 1, 1, 0],
    ["25%", "25%", 3, 1, 0],
    [0, 0, 5, 0, 1],
    ["0%", "0%", 5, 0, 1],
    ["10%", "10%", 5, 1, 0],
    [2, 1, 5, 2, 1],
    ["50%", "50%", 5, 3, 2],
    ["100%", 0, 3, 3, 0],
    [0, "1%", 10, 0, 1],
  ];
  for (const [s, u, n, es, eu] of cases)
    test(`surge ${s}, unavailable ${u} of ${n} → ${es}, ${eu}`, () => {
      assert.deepEqual(resolveFenceposts(s, u, n), { surge: es, unavailable: eu });
    });
  test("an unparsable value throws", () => {
    assert.throws(() => scaledValue("x%y", 10, true));
  });
});

describe("maxSurge and maxUnavailable of a Deployment", () => {
  test("Recreate has neither", () => {
    const d = deployment(5, 2, 2, "Recreate");
    assert.equal(maxSurge(d), 0);
    assert.equal(maxUnavailable(d), 0);
  });
  test("unavailability never exceeds the replicas; zero replicas allow none", () => {
    assert.equal(maxUnavailable(deployment(2, 0, 5)), 2);
    assert.equal(maxUnavailable(deployment(0, 1, 1)), 0);
  });
});

describe("newReplicaSetReplicas", () => {
  const cases: Array<{ name: string; d: Deployment; sets: ReplicaSet[]; want: number }> = [
    {
      name: "a fresh rollout grows by the surge",
      d: deployment(10),
      sets: [rs("old", 10), rs("new", 0)],
      want: 3,
    },
    {
      name: "no room above replicas + surge keeps the size",
      d: deployment(10),
      sets: [rs("old", 10), rs("new", 3)],
      want: 3,
    },
    {
      name: "room made by old scale-downs is taken",
      d: deployment(10),
      sets: [rs("old", 5), rs("new", 3)],
      want: 8,
    },
    {
      name: "never beyond replicas",
      d: deployment(10),
      sets: [rs("old", 0), rs("new", 9)],
      want: 10,
    },
    {
      name: "Recreate goes straight to replicas",
      d: deployment(4, 0, 0, "Recreate"),
      sets: [rs("new", 0)],
      want: 4,
    },
    {
      name: "surge 0 waits for old pods to go",
      d: deployment(3, 0, 1),
      sets: [rs("old", 3), rs("new", 0)],
      want: 0,
    },
  ];
  for (const c of cases)
    test(c.name, () => {
      const newSet = c.sets.find((s) => s.metadata?.name === "new") ?? rs("new", 0);
      assert.equal(newReplicaSetReplicas(c.d, c.sets, newSet), c.want);
    });
});

describe("old ReplicaSet scale-down", () => {
  test("maxScaledDown keeps replicas - maxUnavailable, counting the new set's unavailable pods", () => {
    const d = deployment(10); // surge 3, unavailable 2 → minAvailable 8
    const newSet = rs("new", 3, 0);
    assert.equal(maxScaledDown(d, [rs("old", 10), newSet], newSet), 13 - 8 - 3);
    const ready = rs("new", 3, 3);
    assert.equal(maxScaledDown(d, [rs("old", 10), ready], ready), 5);
  });

  test("unhealthy pods go first, oldest set first, within the budget", () => {
    const sets = [
      rs("b", 4, 1, { created: "2026-01-02T00:00:00Z" }),
      rs("a", 3, 1, { created: "2026-01-01T00:00:00Z" }),
    ];
    assert.deepEqual(
      [...cleanupUnhealthy(sets, 3)],
      [
        ["a", 1],
        ["b", 3],
      ],
    );
    assert.deepEqual([...cleanupUnhealthy([rs("a", 3, 3)], 3)], []);
    assert.deepEqual(
      [...cleanupUnhealthy([rs("a", 1, 2)], 3)],
      [],
      "a stale status never scales up",
    );
  });

  test("available old pods go while minAvailable holds", () => {
    const d = deployment(10); // minAvailable 8
    const old = [rs("old", 10, 10, { created: "2026-01-01T00:00:00Z" })];
    const newSet = rs("new", 3, 3, { created: "2026-01-02T00:00:00Z" });
    assert.deepEqual([...scaleDownOldForRolling(d, [...old, newSet], old)], [["old", 5]]);
    const unready = rs("new", 3, 0, { created: "2026-01-02T00:00:00Z" });
    assert.deepEqual([...scaleDownOldForRolling(d, [...old, unready], old)], [["old", 8]]);
    assert.deepEqual(
      [...scaleDownOldForRolling(deployment(10), [rs("old", 8, 8)], [rs("old", 8, 8)])],
      [],
    );
  });
});

describe("proportionalSizes", () => {
  test("scaling 10 → 15 mid-rollout spreads the 6 more allowed pods by each set's share", () => {
    // replicas 10, surge 3 → max 13 annotated; now 15 + 4 = 19 allowed.
    const d = deployment(15);
    const sets = [
      rs("old", 8, 8, { created: "2026-01-01T00:00:00Z", max: 13 }),
      rs("new", 5, 0, { created: "2026-01-02T00:00:00Z", max: 13 }),
    ];
    const sizes = proportionalSizes(d, sets);
    assert.equal((sizes.get("old") ?? 0) + (sizes.get("new") ?? 0), 19);
    assert.deepEqual([...sizes].sort(), [
      ["new", 7],
      ["old", 12],
    ]);
  });

  test("scaling down takes from each set in proportion to its size", () => {
    const d = deployment(5); // 5 + 2 = 7 allowed
    const sets = [
      rs("old", 6, 6, { created: "2026-01-01T00:00:00Z", max: 13 }),
      rs("new", 7, 0, { created: "2026-01-02T00:00:00Z", max: 13 }),
    ];
    const sizes = proportionalSizes(d, sets);
    assert.equal((sizes.get("old") ?? 0) + (sizes.get("new") ?? 0), 7);
    assert.deepEqual([...sizes].sort(), [
      ["new", 4],
      ["old", 3],
    ]);
  });

  test("scaling to zero empties every set", () => {
    const sizes = proportionalSizes(deployment(0), [
      rs("old", 2, 2, { max: 4 }),
      rs("new", 2, 2, { max: 4 }),
    ]);
    assert.deepEqual([...sizes.values()], [0, 0]);
  });
});
