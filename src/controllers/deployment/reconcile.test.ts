import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Deployment, DeploymentStatus, ReplicaSet } from "kubernetes-types/apps/v1.js";
import type { Pod } from "kubernetes-types/core/v1.js";
import { alreadyExists } from "../../api/errors.ts";
import { type DeploymentDeps, reconcileDeployment } from "./reconcile.ts";

/**
 * A tiny cluster: ReplicaSets in a map, a ReplicaSet "controller" that makes status follow spec
 * (pods of a set become available when `available(set)` says so), and a manual clock.
 */
class World {
  sets = new Map<string, ReplicaSet>();
  pods: Pod[] = [];
  events: string[] = [];
  d: Deployment;
  now = Date.parse("2026-01-01T00:00:00Z");
  seq = 0;
  available: (rs: ReplicaSet) => boolean = () => true;

  constructor(d: Deployment) {
    this.d = d;
  }

  deps(): DeploymentDeps {
    return {
      getDeployment: () => this.d,
      listReplicaSets: () => [...this.sets.values()],
      listPods: () => this.pods,
      createReplicaSet: async (rs) => {
        const name = rs.metadata?.name ?? "";
        if (this.sets.has(name)) throw alreadyExists("replicasets", "apps", name);
        const made = structuredClone(rs);
        made.metadata = {
          ...made.metadata,
          uid: `uid-${name}`,
          generation: 1,
          creationTimestamp: new Date(this.now + this.seq++ * 1000).toISOString(),
        };
        this.sets.set(name, made);
        return made;
      },
      updateReplicaSet: async (rs) => {
        const made = structuredClone(rs);
        made.metadata = { ...made.metadata, generation: (rs.metadata?.generation ?? 1) + 1 };
        this.sets.set(rs.metadata?.name ?? "", made);
        return made;
      },
      deleteReplicaSet: async (rs) => {
        this.sets.delete(rs.metadata?.name ?? "");
      },
      setReplicaSetOwners: async () => {},
      setDeploymentRevision: async (d, revision) => {
        this.d = structuredClone(d);
        this.d.metadata = {
          ...this.d.metadata,
          annotations: {
            ...this.d.metadata?.annotations,
            "deployment.kubernetes.io/revision": revision,
          },
        };
      },
      writeStatus: async (_d, status) => {
        const s = structuredClone(status);
        for (const [k, v] of Object.entries(s))
          if (v === 0) delete (s as Record<string, unknown>)[k];
        this.d = { ...this.d, status: s };
      },
      event: (_d, _t, reason, message) => this.events.push(`${reason}: ${message}`),
      now: () => this.now,
    };
  }

  /** The ReplicaSet controller's effect: status follows spec. */
  settle(): void {
    for (const rs of this.sets.values()) {
      const n = rs.spec?.replicas ?? 0;
      const avail = this.available(rs) ? n : 0;
      (rs as { status?: unknown }).status = {
        replicas: n,
        readyReplicas: avail,
        availableReplicas: avail,
        observedGeneration: rs.metadata?.generation ?? 1,
      };
    }
  }

  async sync() {
    return reconcileDeployment("default/web", this.deps());
  }

  sizes(): Record<string, number> {
    return Object.fromEntries(
      [...this.sets.values()].map((s) => [s.metadata?.name ?? "", s.spec?.replicas ?? 0]),
    );
  }

  newest(): ReplicaSet | undefined {
    return [...this.sets.values()].sort((a, b) =>
      (a.metadata?.creationTimestamp ?? "") < (b.metadata?.creationTimestamp ?? "") ? 1 : -1,
    )[0];
  }

  condition(type: string) {
    return (this.d.status as DeploymentStatus | undefined)?.conditions?.find(
      (c) => c.type === type,
    );
  }

  setImage(image: string): void {
    this.d = structuredClone(this.d);
    const spec = this.d.spec as NonNullable<Deployment["spec"]>;
    spec.template.spec = { containers: [{ name: "c", image }] };
    this.d.metadata = { ...this.d.metadata, generation: (this.d.metadata?.generation ?? 1) + 1 };
  }
}

function deployment(o: {
  replicas: number;
  surge?: number | string;
  unavailable?: number | string;
  type?: string;
  paused?: boolean;
}): Deployment {
  return {
    metadata: { name: "web", namespace: "default", uid: "d-uid", generation: 1 },
    spec: {
      replicas: o.replicas,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ name: "c", image: "v1" }] },
      },
      strategy:
        o.type === "Recreate"
          ? { type: "Recreate" }
          : {
              type: "RollingUpdate",
              rollingUpdate: { maxSurge: o.surge ?? "25%", maxUnavailable: o.unavailable ?? "25%" },
            },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      ...(o.paused ? { paused: true } : {}),
    },
  };
}

async function converge(w: World, onStep?: () => void, max = 50): Promise<number> {
  for (let i = 0; i < max; i++) {
    const before = JSON.stringify([w.sizes(), w.d.status]);
    await w.sync();
    w.settle();
    onStep?.();
    if (JSON.stringify([w.sizes(), w.d.status]) === before) return i;
  }
  throw new Error("did not converge");
}

describe("reconcileDeployment", () => {
  test("a new Deployment gets one ReplicaSet at full size, revision 1, and completes", async () => {
    const w = new World(deployment({ replicas: 3 }));
    await converge(w);
    const [rs] = w.sets.values();
    assert.match(rs?.metadata?.name ?? "", /^web-[bcdfghjklmnpqrstvwxz2456789]+$/);
    assert.equal(rs?.spec?.replicas, 3);
    assert.equal(rs?.metadata?.annotations?.["deployment.kubernetes.io/revision"], "1");
    assert.equal(w.d.metadata?.annotations?.["deployment.kubernetes.io/revision"], "1");
    assert.equal(w.condition("Progressing")?.reason, "NewReplicaSetAvailable");
    assert.equal(w.condition("Available")?.reason, "MinimumReplicasAvailable");
    assert.deepEqual(w.events, [
      `ScalingReplicaSet: Scaled up replica set ${rs?.metadata?.name} from 0 to 3`,
    ]);
  });

  const rolling: Array<{ replicas: number; surge: number | string; unavailable: number | string }> =
    [
      { replicas: 10, surge: "25%", unavailable: "25%" },
      { replicas: 5, surge: 0, unavailable: 1 },
      { replicas: 5, surge: 1, unavailable: 0 },
      { replicas: 4, surge: "50%", unavailable: "50%" },
      { replicas: 1, surge: 0, unavailable: 0 },
    ];
  for (const c of rolling)
    test(`a rolling update of ${c.replicas} with surge ${c.surge} and unavailable ${c.unavailable} stays within bounds`, async () => {
      const w = new World(deployment(c));
      await converge(w);
      const first = w.newest()?.metadata?.name;
      w.setImage("v2");
      const d = w.d;
      const pct = (v: number | string, up: boolean) => {
        if (typeof v === "number") return v;
        const x = (Number.parseInt(v, 10) * c.replicas) / 100;
        return up ? Math.ceil(x) : Math.floor(x);
      };
      const surge = pct(c.surge, true);
      const unavailable =
        surge === 0 && pct(c.unavailable, false) === 0 ? 1 : pct(c.unavailable, false);
      let steps = 0;
      await converge(w, () => {
        steps++;
        const total = Object.values(w.sizes()).reduce((a, b) => a + b, 0);
        const available = [...w.sets.values()].reduce(
          (a, s) => a + (s.status?.availableReplicas ?? 0),
          0,
        );
        assert.ok(total <= c.replicas + surge, `total ${total} > ${c.replicas} + ${surge}`);
        assert.ok(
          available >= c.replicas - unavailable,
          `available ${available} < ${c.replicas} - ${unavailable}`,
        );
      });
      assert.ok(steps > 1, "the update took several steps");
      const fresh = w.newest();
      assert.notEqual(fresh?.metadata?.name, first);
      assert.deepEqual(w.sizes(), { [first ?? ""]: 0, [fresh?.metadata?.name ?? ""]: c.replicas });
      assert.equal(fresh?.metadata?.annotations?.["deployment.kubernetes.io/revision"], "2");
      assert.equal(w.condition("Progressing")?.reason, "NewReplicaSetAvailable");
      assert.equal(d.metadata?.name, "web");
    });

  test("Recreate empties the old set and waits for its pods before creating the new one", async () => {
    const w = new World(deployment({ replicas: 3, type: "Recreate" }));
    await converge(w);
    const old = w.newest();
    w.setImage("v2");
    w.pods = [
      {
        metadata: {
          name: "old-pod",
          ownerReferences: [
            {
              apiVersion: "apps/v1",
              kind: "ReplicaSet",
              name: "x",
              uid: old?.metadata?.uid ?? "",
              controller: true,
            },
          ],
        },
        status: { phase: "Running" },
      },
    ];
    await w.sync();
    assert.equal(w.sets.size, 1, "no new set while old ones have replicas");
    assert.equal(old && w.sets.get(old.metadata?.name ?? "")?.spec?.replicas, 0);
    w.settle();
    await w.sync();
    assert.equal(w.sets.size, 1, "no new set while an old pod still runs");
    w.pods = [];
    await converge(w);
    assert.equal(w.sets.size, 2);
    assert.equal(w.newest()?.spec?.replicas, 3);
    assert.ok(w.events.some((e) => /Scaled down replica set web-\w+ from 3 to 0/.test(e)));
  });

  test("a stuck rollout reports ProgressDeadlineExceeded after progressDeadlineSeconds", async () => {
    const w = new World(deployment({ replicas: 2 }));
    await converge(w);
    w.available = (rs) => rs.spec?.template?.spec?.containers[0]?.image === "v1";
    w.setImage("broken");
    await converge(w);
    assert.equal(w.condition("Progressing")?.reason, "ReplicaSetUpdated");
    const r = await w.sync();
    assert.ok(
      r && typeof r === "object" && r.requeueAfter !== undefined && r.requeueAfter > 599_000,
      "requeued for the deadline",
    );
    w.now += 601_000;
    await w.sync();
    const c = w.condition("Progressing");
    assert.equal(c?.status, "False");
    assert.equal(c?.reason, "ProgressDeadlineExceeded");
    assert.match(c?.message ?? "", /^ReplicaSet "web-\w+" has timed out progressing\.$/);
  });

  test("a paused Deployment scales but does not roll out", async () => {
    const w = new World(deployment({ replicas: 3 }));
    await converge(w);
    w.d = structuredClone(w.d);
    (w.d.spec as { paused?: boolean }).paused = true;
    w.setImage("v2");
    (w.d.spec as { replicas?: number }).replicas = 5;
    await converge(w);
    assert.equal(w.sets.size, 1);
    assert.deepEqual(Object.values(w.sizes()), [5]);
    assert.equal(w.condition("Progressing")?.reason, "DeploymentPaused");
  });

  test("scaling mid-rollout is proportional", async () => {
    const w = new World(deployment({ replicas: 10 }));
    await converge(w);
    w.available = (rs) => rs.spec?.template?.spec?.containers[0]?.image === "v1";
    w.setImage("v2");
    await converge(w);
    const before = w.sizes();
    (w.d.spec as { replicas?: number }).replicas = 20;
    await w.sync();
    const after = w.sizes();
    const total = Object.values(after).reduce((a, b) => a + b, 0);
    assert.equal(total, 20 + 5);
    for (const [name, n] of Object.entries(before))
      if (n > 0) assert.ok((after[name] ?? 0) > n, `${name} grew`);
  });

  test("a name taken by a foreign set bumps collisionCount and hashes again", async () => {
    const w = new World(deployment({ replicas: 2 }));
    const probe = new World(deployment({ replicas: 2 }));
    await probe.sync();
    const taken = probe.newest()?.metadata?.name ?? "";
    w.sets.set(taken, {
      metadata: {
        name: taken,
        labels: { app: "other" },
        creationTimestamp: "2025-01-01T00:00:00Z",
      },
      spec: { replicas: 1, selector: { matchLabels: { app: "other" } }, template: {} },
    });
    await assert.rejects(w.sync(), /already exists/);
    assert.equal(w.d.status?.collisionCount, 1);
    await converge(w);
    const mine = w.newest();
    assert.notEqual(mine?.metadata?.name, taken);
    assert.equal(mine?.spec?.replicas, 2);
  });

  test("our own set not yet in the cache is no collision: the sync is retried", async () => {
    const w = new World(deployment({ replicas: 2 }));
    const deps = w.deps();
    deps.createReplicaSet = async (rs) => {
      throw alreadyExists("replicasets", "apps", rs.metadata?.name ?? "");
    };
    await assert.rejects(reconcileDeployment("default/web", deps), /already exists/);
    assert.equal(w.d.status?.collisionCount, undefined);
  });

  test("old sets beyond revisionHistoryLimit are deleted once empty", async () => {
    const w = new World(deployment({ replicas: 1 }));
    (w.d.spec as { revisionHistoryLimit?: number }).revisionHistoryLimit = 1;
    await converge(w);
    for (const image of ["v2", "v3", "v4"]) {
      w.setImage(image);
      await converge(w);
    }
    assert.equal(w.sets.size, 2, "the current set and one old one");
    const revisions = [...w.sets.values()]
      .map((s) => s.metadata?.annotations?.["deployment.kubernetes.io/revision"])
      .sort();
    assert.deepEqual(revisions, ["3", "4"]);
  });
});
