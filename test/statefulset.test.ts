/**
 * The StatefulSet controller end to end: a real API server, the StatefulSet and EndpointSlice
 * controllers, the fake node, and the real kubectl for scale, rollout status/history/undo.
 * Ordering is observed through a watch on the pods, never by sampling.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { ControllerRevision, StatefulSet } from "kubernetes-types/apps/v1.js";
import type { PersistentVolumeClaim, Pod } from "kubernetes-types/core/v1.js";
import type { EndpointSlice } from "kubernetes-types/discovery/v1.js";
import { waitFor } from "../src/_testing/index.ts";
import { REFS } from "../src/api/refs.ts";
import { type KubeObject, typed, type WatchEvent } from "../src/api/types.ts";
import { startTestControlPlane, type TestControlPlane } from "./_controlplane.ts";
import { NO_KUBECTL } from "./_kubectl.ts";

const NS = "default";

function statefulSet(name: string, extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name },
    spec: {
      serviceName: "nginx",
      replicas: 3,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            { name: "c", image: "nginx:1", ports: [{ name: "web", containerPort: 80 }] },
          ],
        },
      },
      ...extra,
    },
  };
}

const isReady = (p: Pod) =>
  p.status?.phase === "Running" &&
  (p.status.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");

/** Every pod event of a label selector, in order. */
function recordPods(cp: TestControlPlane, selector: string) {
  const events: Array<{ type: string; pod: Pod }> = [];
  const handle = cp.client.watch(REFS.pods, NS, { labelSelector: selector }, (e: WatchEvent) => {
    if (e.type === "ADDED" || e.type === "MODIFIED" || e.type === "DELETED")
      events.push({ type: e.type, pod: typed<Pod>(e.object) });
  });
  return { events, stop: () => handle.stop() };
}

describe("StatefulSet controller", () => {
  let cp: TestControlPlane;
  const held = new Set<string>();
  const pod = async (name: string) =>
    typed<Pod>(await cp.client.get(REFS.pods, NS, name).catch(() => ({ metadata: {} })));
  const podsOf = async (app: string) =>
    (await cp.client.list(REFS.pods, NS, { labelSelector: `app=${app}` })).items.map((p) =>
      typed<Pod>(p),
    );
  const getSet = async (name: string) =>
    typed<StatefulSet>(await cp.client.get(REFS.statefulsets, NS, name));
  const allReady = (app: string, n: number, image?: string) =>
    waitFor(
      async () => {
        const ps = (await podsOf(app)).filter((p) => !p.metadata?.deletionTimestamp);
        return (
          ps.length === n &&
          ps.every(isReady) &&
          (image === undefined || ps.every((p) => p.spec?.containers[0]?.image === image))
        );
      },
      { what: `${n} ready ${app} pods${image ? ` on ${image}` : ""}` },
    );

  before(async () => {
    cp = await startTestControlPlane({
      controllers: ["endpointslice", "statefulset"],
      fakeNode: { ready: (p) => !held.has(p.metadata?.name ?? "") },
    });
    await cp.client.create(REFS.services, NS, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "nginx" },
      spec: { clusterIP: "None", selector: { app: "web" }, ports: [{ name: "web", port: 80 }] },
    });
  });
  after(async () => {
    await cp?.stop();
  });

  test("OrderedReady creates web-0, web-1, web-2 in order, each after the previous is Ready", async () => {
    held.add("web-1");
    const rec = recordPods(cp, "app=web");
    try {
      await cp.client.create(
        REFS.statefulsets,
        NS,
        statefulSet("web", {
          volumeClaimTemplates: [
            {
              metadata: { name: "www", labels: { tier: "data" } },
              spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
            },
          ],
        }),
      );
      await waitFor(async () => (await pod("web-1")).status?.phase === "Running", {
        what: "web-1 running",
      });
      // web-1 is Running but not Ready: the controller must not go on to web-2. Proof that it has
      // looked since: a spec change that creates no pod, acknowledged in status.observedGeneration.
      const bumped = await cp.client.patch(REFS.statefulsets, NS, "web", "merge", {
        spec: { revisionHistoryLimit: 11 },
      });
      await waitFor(
        async () =>
          ((await getSet("web")).status?.observedGeneration ?? 0) >=
          (bumped.metadata.generation ?? 1),
        { what: "the controller to observe the bumped generation" },
      );
      assert.equal((await pod("web-2")).metadata?.name, undefined, "web-2 created too early");
      held.delete("web-1");
      await cp.node?.setReady(NS, "web-1", true);
      await allReady("web", 3);

      const ready = new Map<string, boolean>();
      const order: string[] = [];
      for (const { type, pod: p } of rec.events) {
        const name = p.metadata?.name ?? "";
        if (type === "ADDED") {
          const ordinal = Number(name.slice("web-".length));
          if (ordinal > 0)
            assert.ok(
              ready.get(`web-${ordinal - 1}`),
              `${name} created before its predecessor was Ready`,
            );
          order.push(name);
        }
        ready.set(name, type !== "DELETED" && isReady(p));
      }
      assert.deepEqual(order, ["web-0", "web-1", "web-2"]);
    } finally {
      rec.stop();
    }
    const p0 = await pod("web-0");
    assert.equal(p0.spec?.hostname, "web-0");
    assert.equal(p0.spec?.subdomain, "nginx");
    assert.equal(p0.metadata?.labels?.["statefulset.kubernetes.io/pod-name"], "web-0");
    assert.equal(p0.metadata?.labels?.["apps.kubernetes.io/pod-index"], "0");
    const set = await getSet("web");
    assert.equal(p0.metadata?.labels?.["controller-revision-hash"], set.status?.updateRevision);
    assert.deepEqual(
      p0.metadata?.ownerReferences?.map((r) => [r.kind, r.name, r.uid, r.controller]),
      [["StatefulSet", "web", set.metadata?.uid, true]],
    );
    assert.deepEqual(p0.spec?.volumes?.find((v) => v.name === "www")?.persistentVolumeClaim, {
      claimName: "www-web-0",
    });
  });

  test("each pod has its claim www-web-<ordinal>, labelled from the template and the selector", async () => {
    for (const i of [0, 1, 2]) {
      const c = typed<PersistentVolumeClaim>(
        await cp.client.get(REFS.persistentvolumeclaims, NS, `www-web-${i}`),
      );
      assert.deepEqual(c.metadata?.labels, { tier: "data", app: "web" });
      assert.deepEqual(c.spec?.accessModes, ["ReadWriteOnce"]);
    }
  });

  test("the status counts ready pods and kubectl rollout status completes", async (t) => {
    const set = await waitFor(
      async () => {
        const s = await getSet("web");
        return s.status?.readyReplicas === 3 && s.status.currentReplicas === 3 ? s : undefined;
      },
      { what: "status with 3 ready" },
    );
    assert.equal(set.status?.replicas, 3);
    assert.equal(set.status?.availableReplicas, 3);
    assert.equal(set.status?.updatedReplicas, 3);
    assert.equal(set.status?.observedGeneration, set.metadata?.generation);
    assert.equal(set.status?.currentRevision, set.status?.updateRevision);
    assert.match(set.status?.currentRevision ?? "", /^web-[a-z0-9]+$/);
    if (NO_KUBECTL) return t.skip(NO_KUBECTL);
    const r = await cp.api.kubectl(["rollout", "status", "sts/web", "--timeout=20s"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /partitioned roll out complete: 3 new pods have been updated/);
  });

  test("the headless Service's EndpointSlice names web-0..2 by hostname", async () => {
    const hostnames = await waitFor(
      async () => {
        const slices = (
          await cp.client.list(REFS.endpointslices, NS, {
            labelSelector: "kubernetes.io/service-name=nginx",
          })
        ).items.map((s) => typed<EndpointSlice>(s));
        const names = slices
          .flatMap((s) => s.endpoints ?? [])
          .map((e) => e.hostname ?? "")
          .sort();
        return names.length === 3 ? names : undefined;
      },
      { what: "three endpoints" },
    );
    assert.deepEqual(hostnames, ["web-0", "web-1", "web-2"]);
  });

  test("events say what was created, as kube words them", async () => {
    const messages = await waitFor(
      async () => {
        const ms = (await cp.client.list(REFS.events, NS)).items.map((e) => String(e.message));
        return ms.includes("create Pod web-2 in StatefulSet web successful") ? ms : undefined;
      },
      { what: "events" },
    );
    assert.ok(messages.includes("create Pod web-0 in StatefulSet web successful"));
    assert.ok(messages.includes("create Claim www-web-0 Pod web-0 in StatefulSet web success"));
  });

  test("scaling to 1 removes web-2 then web-1, one at a time", async (t) => {
    if (NO_KUBECTL) return t.skip(NO_KUBECTL);
    const rec = recordPods(cp, "app=web");
    try {
      const r = await cp.api.kubectl(["scale", "sts/web", "--replicas=1"]);
      assert.equal(r.code, 0, r.stderr);
      await waitFor(async () => (await podsOf("web")).length === 1, { what: "one pod left" });
      const steps = rec.events
        .filter((e) => e.type === "DELETED" || e.pod.metadata?.deletionTimestamp)
        .map((e) => `${e.type === "DELETED" ? "gone" : "terminating"} ${e.pod.metadata?.name}`);
      const first = (s: string) => steps.indexOf(s);
      assert.ok(first("gone web-2") >= 0 && first("gone web-1") >= 0, steps.join(", "));
      assert.ok(first("gone web-2") < first("terminating web-1"), steps.join(", "));
      assert.equal((await podsOf("web"))[0]?.metadata?.name, "web-0");
    } finally {
      rec.stop();
    }
    // Retain (the default) keeps the claims of the pods scaled away.
    await cp.client.get(REFS.persistentvolumeclaims, NS, "www-web-2");
  });

  test("a deleted pod comes back with the same name and the same claim", async () => {
    const claim = await cp.client.get(REFS.persistentvolumeclaims, NS, "www-web-0");
    const before = await pod("web-0");
    await cp.client.delete(REFS.pods, NS, "web-0");
    const back = await waitFor(
      async () => {
        const p = await pod("web-0");
        return p.metadata?.uid && p.metadata.uid !== before.metadata?.uid && isReady(p)
          ? p
          : undefined;
      },
      { what: "web-0 back" },
    );
    const claimAfter = await cp.client.get(REFS.persistentvolumeclaims, NS, "www-web-0");
    assert.equal(claimAfter.metadata.uid, claim.metadata.uid);
    assert.equal(
      back.spec?.volumes?.find((v) => v.name === "www")?.persistentVolumeClaim?.claimName,
      "www-web-0",
    );
  });

  test("an image change rolls from the highest ordinal down; history and undo work", async (t) => {
    if (NO_KUBECTL) return t.skip(NO_KUBECTL);
    let r = await cp.api.kubectl(["scale", "sts/web", "--replicas=3"]);
    assert.equal(r.code, 0, r.stderr);
    await allReady("web", 3);
    const rec = recordPods(cp, "app=web");
    try {
      r = await cp.api.kubectl(["set", "image", "sts/web", "c=nginx:2"]);
      assert.equal(r.code, 0, r.stderr);
      r = await cp.api.kubectl(["rollout", "status", "sts/web", "--timeout=30s"]);
      assert.equal(r.code, 0, r.stderr);
      await allReady("web", 3, "nginx:2");
      const deletions = rec.events
        .filter((e) => e.type === "DELETED")
        .map((e) => e.pod.metadata?.name);
      assert.deepEqual(deletions, ["web-2", "web-1", "web-0"]);
    } finally {
      rec.stop();
    }
    const set = await getSet("web");
    assert.equal(set.status?.currentRevision, set.status?.updateRevision);

    r = await cp.api.kubectl(["rollout", "history", "sts/web"]);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout
      .trim()
      .split("\n")
      .filter((l) => /^\d+\s/.test(l));
    assert.deepEqual(
      rows.map((l) => l.split(/\s+/)[0]),
      ["1", "2"],
      r.stdout,
    );
    const revisions = (
      await cp.client.list(REFS.controllerrevisions, NS, { labelSelector: "app=web" })
    ).items.map((x) => typed<ControllerRevision>(x));
    assert.equal(revisions.length, 2);

    r = await cp.api.kubectl(["rollout", "undo", "sts/web"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /statefulset.apps\/web rolled back/);
    const undone = await getSet("web");
    assert.equal(undone.spec?.template.spec?.containers[0]?.image, "nginx:1");
    await allReady("web", 3, "nginx:1");
    r = await cp.api.kubectl(["rollout", "status", "sts/web", "--timeout=30s"]);
    assert.equal(r.code, 0, r.stderr);
    // The first revision was renumbered rather than copied.
    const after = (
      await cp.client.list(REFS.controllerrevisions, NS, { labelSelector: "app=web" })
    ).items.map((x) => typed<ControllerRevision>(x));
    assert.deepEqual(after.map((x) => x.revision).sort(), [2, 3]);
  });

  test("Parallel creates every pod at once, without waiting for readiness", async () => {
    for (const i of [0, 1, 2]) held.add(`par-${i}`);
    await cp.client.create(
      REFS.statefulsets,
      NS,
      statefulSet("par", { podManagementPolicy: "Parallel" }),
    );
    const ps = await waitFor(
      async () => {
        const list = await podsOf("par");
        return list.length === 3 ? list : undefined;
      },
      { what: "three par pods" },
    );
    assert.ok(ps.every((p) => !isReady(p)));
    for (const i of [0, 1, 2]) {
      held.delete(`par-${i}`);
      await cp.node?.setReady(NS, `par-${i}`, true);
    }
    await allReady("par", 3);
  });

  test("a StatefulSet without serviceName is accepted and its pods get no subdomain", async () => {
    const obj = statefulSet("solo", { replicas: 1 });
    delete (obj.spec as Record<string, unknown>).serviceName;
    await cp.client.create(REFS.statefulsets, NS, obj);
    const p = await waitFor(
      async () => {
        const x = await pod("solo-0");
        return x.metadata?.name ? x : undefined;
      },
      { what: "solo-0" },
    );
    assert.equal(p.spec?.hostname, "solo-0");
    assert.equal(p.spec?.subdomain, undefined);
  });

  test("a set adopts an orphan pod of its own (then replaces it, as it carries no revision)", async () => {
    const rec = recordPods(cp, "app=adopt");
    try {
      const orphan = await cp.client.create(REFS.pods, NS, {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "adopt-0", labels: { app: "adopt" } },
        spec: { containers: [{ name: "c", image: "nginx:1" }] },
      });
      await cp.client.create(REFS.statefulsets, NS, statefulSet("adopt", { replicas: 1 }));
      await waitFor(
        () =>
          rec.events.some(
            (e) =>
              e.pod.metadata?.uid === orphan.metadata.uid &&
              e.pod.metadata?.ownerReferences?.some((r) => r.controller && r.name === "adopt"),
          ),
        { what: "the orphan adopted" },
      );
      const replaced = await waitFor(
        async () => {
          const p = await pod("adopt-0");
          return p.metadata?.uid !== orphan.metadata.uid && isReady(p) ? p : undefined;
        },
        { what: "the adopted pod replaced by one on the update revision" },
      );
      const set = await getSet("adopt");
      assert.equal(
        replaced.metadata?.labels?.["controller-revision-hash"],
        set.status?.updateRevision,
      );
    } finally {
      rec.stop();
    }
  });

  test("retention Delete hands claims to the set, and a scaled-away pod's claim to that pod", async () => {
    await cp.client.create(
      REFS.statefulsets,
      NS,
      statefulSet("gc", {
        replicas: 2,
        persistentVolumeClaimRetentionPolicy: { whenDeleted: "Delete", whenScaled: "Delete" },
        volumeClaimTemplates: [
          {
            metadata: { name: "data" },
            spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
          },
        ],
      }),
    );
    await allReady("gc", 2);
    const set = await getSet("gc");
    const ownersOf = async (name: string) =>
      (await cp.client.get(REFS.persistentvolumeclaims, NS, name)).metadata.ownerReferences?.map(
        (r) => `${r.kind}/${r.name}/${r.uid === set.metadata?.uid || r.kind === "Pod"}`,
      );
    assert.deepEqual(await ownersOf("data-gc-0"), ["StatefulSet/gc/true"]);
    const gc1 = await pod("gc-1");
    await cp.client.patch(REFS.statefulsets, NS, "gc", "merge", { spec: { replicas: 1 } });
    await waitFor(async () => (await podsOf("gc")).length === 1, { what: "gc-1 gone" });
    const refs = (await cp.client.get(REFS.persistentvolumeclaims, NS, "data-gc-1")).metadata
      .ownerReferences;
    assert.deepEqual(
      refs?.map((r) => [r.kind, r.name, r.uid]),
      [["Pod", "gc-1", gc1.metadata?.uid]],
    );
    assert.deepEqual(await ownersOf("data-gc-0"), ["StatefulSet/gc/true"]);
  });

  test("kubectl rollout restart replaces every pod of a Parallel set, one at a time", async (t) => {
    if (NO_KUBECTL) return t.skip(NO_KUBECTL);
    const rec = recordPods(cp, "app=par");
    try {
      let r = await cp.api.kubectl(["rollout", "restart", "sts/par"]);
      assert.equal(r.code, 0, r.stderr);
      r = await cp.api.kubectl(["rollout", "status", "sts/par", "--timeout=30s"]);
      assert.equal(r.code, 0, r.stderr);
      const ps = await podsOf("par");
      assert.ok(
        ps.every((p) => p.metadata?.annotations?.["kubectl.kubernetes.io/restartedAt"]),
        "every pod from the restarted template",
      );
      // maxUnavailable 1: a pod is deleted only once the previous replacement is back and Ready.
      let down = 0;
      for (const e of rec.events) {
        if (e.type === "DELETED") down++;
        if (e.type === "ADDED") down--;
        assert.ok(down <= 1, "two pods down at once");
      }
      assert.deepEqual(
        rec.events.filter((e) => e.type === "DELETED").map((e) => e.pod.metadata?.name),
        ["par-2", "par-1", "par-0"],
      );
    } finally {
      rec.stop();
    }
  });

  test("minReadySeconds holds the next pod until the previous one has been Ready that long", async () => {
    const seen: Array<{ at: number; type: string; pod: Pod }> = [];
    const handle = cp.client.watch(REFS.pods, NS, { labelSelector: "app=min" }, (e) => {
      if (e.type === "ADDED" || e.type === "MODIFIED")
        seen.push({ at: Date.now(), type: e.type, pod: typed<Pod>(e.object) });
    });
    try {
      await cp.client.create(
        REFS.statefulsets,
        NS,
        statefulSet("min", { replicas: 2, minReadySeconds: 1 }),
      );
      await waitFor(async () => (await getSet("min")).status?.availableReplicas === 2, {
        what: "2 available",
      });
      const added = seen.find((e) => e.type === "ADDED" && e.pod.metadata?.name === "min-1");
      const readySince = (await pod("min-0")).status?.conditions?.find(
        (c) => c.type === "Ready",
      )?.lastTransitionTime;
      assert.ok(added && readySince);
      assert.ok(added.at >= Date.parse(readySince) + 1000, "min-1 created too early");
    } finally {
      handle.stop();
    }
  });
});
