import assert from "node:assert/strict";
import { test } from "node:test";
import type {
  ControllerRevision,
  StatefulSet,
  StatefulSetStatus,
} from "kubernetes-types/apps/v1.js";
import type { PersistentVolumeClaim, Pod } from "kubernetes-types/core/v1.js";
import { alreadyExists } from "../../api/errors.ts";
import { newRevision } from "./_revision.ts";
import { reconcileStatefulSet, type StatefulSetDeps } from "./reconcile.ts";

function set(extra: Partial<StatefulSet["spec"]> = {}, status?: StatefulSetStatus): StatefulSet {
  return {
    metadata: { name: "web", namespace: "ns", uid: "set-uid", generation: 1 },
    spec: {
      replicas: 1,
      serviceName: "nginx",
      selector: { matchLabels: { app: "web" } },
      template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "c" }] } },
      volumeClaimTemplates: [{ metadata: { name: "www" }, spec: {} }],
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 0 } },
      revisionHistoryLimit: 1,
      ...extra,
    },
    ...(status ? { status } : {}),
  };
}

/** In-memory deps recording every write, in order. */
function fakeDeps(s: StatefulSet, init: { pods?: Pod[]; revisions?: ControllerRevision[] } = {}) {
  const log: string[] = [];
  const events: string[] = [];
  const revisions = new Map((init.revisions ?? []).map((r) => [r.metadata?.name ?? "", r]));
  const claims = new Map<string, PersistentVolumeClaim>();
  let status: StatefulSetStatus | undefined;
  const deps: StatefulSetDeps = {
    getSet: (_ns, name) => (name === "web" ? s : undefined),
    candidatePods: () => init.pods ?? [],
    candidateRevisions: () => [...revisions.values()],
    setPodOwners: async (p, owners) => {
      log.push(`owners pod ${p.metadata?.name} ${owners.map((o) => o.uid)}`);
      return { ...p, metadata: { ...p.metadata, ownerReferences: owners } };
    },
    setRevisionOwners: async (r, owners) => {
      log.push(`owners revision ${r.revision} ${owners.map((o) => o.uid)}`);
      return { ...r, metadata: { ...r.metadata, ownerReferences: owners } };
    },
    getClaim: (_ns, name) => claims.get(name),
    getPod: () => undefined,
    createPod: async (p) => {
      log.push(`create pod ${p.metadata?.name}`);
    },
    updatePod: async (p) => {
      log.push(`update pod ${p.metadata?.name}`);
    },
    deletePod: async (p) => {
      log.push(`delete pod ${p.metadata?.name}`);
    },
    createClaim: async (c) => {
      log.push(`create claim ${c.metadata?.name}`);
      claims.set(c.metadata?.name ?? "", c);
    },
    setClaimOwners: async (c) => {
      log.push(`owners ${c.metadata?.name}`);
    },
    createRevision: async (r) => {
      const name = r.metadata?.name ?? "";
      if (revisions.has(name)) return undefined;
      log.push(`create revision ${r.revision}`);
      revisions.set(name, r);
      return r;
    },
    getRevision: async (name) => revisions.get(name),
    renumberRevision: async (r, to) => {
      log.push(`renumber ${r.metadata?.name} to ${to}`);
      const updated = { ...r, revision: to };
      revisions.set(r.metadata?.name ?? "", updated);
      return updated;
    },
    deleteRevision: async (r) => {
      log.push(`delete revision ${r.revision}`);
      revisions.delete(r.metadata?.name ?? "");
    },
    writeStatus: async (_s, st) => {
      log.push("status");
      status = st;
    },
    event: (_s, type, reason, message) => events.push(`${type} ${reason} ${message}`),
    now: () => new Date("2026-01-01T00:00:00Z"),
  };
  return { deps, log, events, revisions, status: () => status };
}

test("reconcileStatefulSet creates the first revision, the claim, then the pod, and says so", async () => {
  const s = set();
  const f = fakeDeps(s);
  await reconcileStatefulSet("ns/web", f.deps);
  assert.deepEqual(f.log, [
    "create revision 1",
    "create claim www-web-0",
    "create pod web-0",
    "status",
  ]);
  assert.deepEqual(f.events, [
    "Normal SuccessfulCreate create Claim www-web-0 Pod web-0 in StatefulSet web success",
    "Normal SuccessfulCreate create Pod web-0 in StatefulSet web successful",
  ]);
  const rev = [...f.revisions.keys()][0];
  assert.equal(f.status()?.updateRevision, rev);
  assert.equal(f.status()?.currentRevision, rev);
  assert.equal(f.status()?.observedGeneration, 1);
});

test("reconcileStatefulSet of a missing set does nothing", async () => {
  const f = fakeDeps(set());
  await reconcileStatefulSet("ns/other", f.deps);
  assert.deepEqual(f.log, []);
});

test("reconcileStatefulSet treats an existing pod as a stale cache: no event, error to retry", async () => {
  const f = fakeDeps(set());
  f.deps.createPod = async () => {
    throw alreadyExists("pods", "", "web-0");
  };
  await assert.rejects(reconcileStatefulSet("ns/web", f.deps), /already exists/);
  assert.ok(!f.events.some((e) => e.includes("create Pod web-0")), f.events.join("\n"));
  assert.deepEqual(f.log.at(-1), "status", "the status is still written");
});

test("reconcileStatefulSet reports a failed create as kube does", async () => {
  const f = fakeDeps(set());
  f.deps.createPod = async () => {
    throw new Error("boom");
  };
  await assert.rejects(reconcileStatefulSet("ns/web", f.deps), /boom/);
  assert.ok(
    f.events.includes(
      "Warning FailedCreate create Pod web-0 in StatefulSet web failed error: boom",
    ),
  );
});

test("reconcileStatefulSet renumbers an older equal revision on rollback instead of copying it", async () => {
  const v1 = newRevision(set(), 1, 0);
  const changed = set({
    template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "d" }] } },
  });
  const v2 = newRevision(changed, 2, 0);
  const running: Pod = {
    metadata: {
      name: "web-0",
      uid: "p0",
      labels: { app: "web", "controller-revision-hash": v2.metadata?.name ?? "" },
      ownerReferences: [
        {
          apiVersion: "apps/v1",
          kind: "StatefulSet",
          name: "web",
          uid: "set-uid",
          controller: true,
        },
      ],
    },
    status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] },
  };
  const f = fakeDeps(set({}, { replicas: 1, currentRevision: v2.metadata?.name ?? "" }), {
    revisions: [v1, v2],
    pods: [running],
  });
  await reconcileStatefulSet("ns/web", f.deps);
  assert.equal(f.log[0], `renumber ${v1.metadata?.name} to 3`);
  assert.equal(f.status()?.updateRevision, v1.metadata?.name);
  assert.equal(f.status()?.currentRevision, v2.metadata?.name);
});

test("reconcileStatefulSet bumps the collision count when its revision name holds other data", async () => {
  const s = set();
  const squatter = { ...newRevision(s, 1, 0), data: { other: true } };
  const f = fakeDeps(s, { revisions: [] });
  f.revisions.set(squatter.metadata?.name ?? "", squatter);
  f.deps.candidateRevisions = () => [];
  await reconcileStatefulSet("ns/web", f.deps);
  assert.equal(f.status()?.collisionCount, 1);
  assert.equal(f.status()?.updateRevision, newRevision(s, 1, 1).metadata?.name);
});

test("reconcileStatefulSet trims history beyond revisionHistoryLimit, keeping live revisions", async () => {
  const mk = (image: string, n: number) =>
    newRevision(
      set({
        template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: image }] } },
      }),
      n,
      0,
    );
  const old = [mk("x", 1), mk("y", 2), mk("z", 3)];
  const f = fakeDeps(set(), { revisions: old });
  await reconcileStatefulSet("ns/web", f.deps);
  // Live: the new update revision (4); history a, b, c with limit 1 keeps only c.
  assert.deepEqual(
    f.log.filter((l) => l.includes("revision")),
    ["create revision 4", "delete revision 1", "delete revision 2"],
  );
});

test("reconcileStatefulSet writes no status when nothing changed", async () => {
  const s = set({ replicas: 0 });
  const f = fakeDeps(s);
  await reconcileStatefulSet("ns/web", f.deps);
  const written = f.status();
  assert.ok(written);
  const again = fakeDeps({ ...s, status: written }, { revisions: [...f.revisions.values()] });
  await reconcileStatefulSet("ns/web", again.deps);
  assert.deepEqual(again.log, []);
});

test("reconcileStatefulSet adopts an orphan pod of the set and releases one that left the selector", async () => {
  const orphan: Pod = { metadata: { name: "web-0", uid: "p0", labels: { app: "web" } } };
  const leaving: Pod = {
    metadata: {
      name: "web-1",
      uid: "p1",
      labels: { app: "other" },
      ownerReferences: [
        {
          apiVersion: "apps/v1",
          kind: "StatefulSet",
          name: "web",
          uid: "set-uid",
          controller: true,
        },
      ],
    },
  };
  const f = fakeDeps(set(), { pods: [orphan, leaving] });
  await reconcileStatefulSet("ns/web", f.deps);
  assert.ok(f.log.includes("owners pod web-0 set-uid"), f.log.join("\n"));
  assert.ok(f.log.includes("owners pod web-1 "), f.log.join("\n"));
  assert.ok(!f.log.includes("create pod web-0"), "the adopted pod is not created again");
});

test("reconcileStatefulSet restores a ready pod's identity labels and claim volume", async () => {
  const s = set();
  const rev = newRevision(s, 1, 0);
  const stripped: Pod = {
    metadata: {
      name: "web-0",
      uid: "p0",
      labels: { app: "web", "controller-revision-hash": rev.metadata?.name ?? "" },
      ownerReferences: [
        {
          apiVersion: "apps/v1",
          kind: "StatefulSet",
          name: "web",
          uid: "set-uid",
          controller: true,
        },
      ],
    },
    spec: { containers: [{ name: "c" }] },
    status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] },
  };
  const f = fakeDeps(s, { pods: [stripped], revisions: [rev] });
  let updated: Pod | undefined;
  f.deps.updatePod = async (p) => {
    updated = p;
  };
  await reconcileStatefulSet("ns/web", f.deps);
  assert.equal(updated?.metadata?.labels?.["statefulset.kubernetes.io/pod-name"], "web-0");
  assert.equal(updated?.metadata?.labels?.["apps.kubernetes.io/pod-index"], "0");
  assert.deepEqual(updated?.spec?.volumes, [
    { name: "www", persistentVolumeClaim: { claimName: "www-web-0" } },
  ]);
  assert.ok(f.log.includes("create claim www-web-0"), "the missing claim is created too");
  assert.ok(
    f.events.includes("Normal SuccessfulUpdate update Pod web-0 in StatefulSet web successful"),
  );
});
