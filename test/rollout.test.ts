/**
 * Deployments roll out through ReplicaSets to pods, judged by the real kubectl: create, rollout
 * status, scale, set image, history, undo, restart, pause/resume — with the ReplicaSet and
 * Deployment controllers running as in a cluster and the fake node running the pods.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Deployment, ReplicaSet } from "kubernetes-types/apps/v1.js";
import type { Pod } from "kubernetes-types/core/v1.js";
import { waitFor } from "../src/_testing/index.ts";
import { REFS } from "../src/api/refs.ts";
import { typed } from "../src/api/types.ts";
import { CONTROLLERS } from "../src/controllers/index.ts";
import { startTestControlPlane, type TestControlPlane } from "./_controlplane.ts";
import { NO_KUBECTL } from "./_kubectl.ts";

describe("Deployment rollouts driven by kubectl", { skip: NO_KUBECTL }, () => {
  let cp: TestControlPlane;
  const kubectl = async (...args: string[]) => {
    const r = await cp.api.kubectl(args);
    assert.equal(r.code, 0, `kubectl ${args.join(" ")} failed: ${r.stderr}`);
    return r.stdout;
  };
  const sets = async () =>
    (await cp.client.list(REFS.replicasets, "default")).items.map((x) => typed<ReplicaSet>(x));
  const livePods = async () =>
    (await cp.client.list(REFS.pods, "default")).items
      .map((x) => typed<Pod>(x))
      .filter((p) => !p.metadata?.deletionTimestamp);
  const running = async (n: number, image?: string) =>
    waitFor(
      async () => {
        const ps = await livePods();
        const ok = ps.filter(
          (p) =>
            p.status?.phase === "Running" &&
            (image === undefined || p.spec?.containers[0]?.image === image),
        );
        return ps.length === n && ok.length === n ? ps : undefined;
      },
      { what: `${n} running pods${image ? ` of ${image}` : ""}` },
    );

  before(async () => {
    cp = await startTestControlPlane({
      controllers: ["endpointslice", "replicaset", "deployment", "garbagecollector"],
      // Pods of the image "broken" never turn ready: a rollout to it cannot progress.
      fakeNode: { ready: (pod) => pod.spec?.containers[0]?.image !== "broken" },
    });
  });
  after(async () => {
    await cp?.stop();
  });

  test("create deployment runs three pods and rollout status completes", async () => {
    await kubectl(
      "create",
      "deployment",
      "web",
      "--image=nginx:1",
      "--replicas=3",
      "--",
      "sleep",
      "3600",
    );
    const pods = await running(3);
    for (const p of pods) {
      assert.match(p.metadata?.name ?? "", /^web-[bcdfghjklmnpqrstvwxz2456789]+-[a-z0-9]{5}$/);
      const ref = p.metadata?.ownerReferences?.[0];
      assert.equal(ref?.kind, "ReplicaSet");
      assert.equal(ref?.controller, true);
      assert.equal(ref?.blockOwnerDeletion, true);
    }
    const out = await kubectl("rollout", "status", "deployment/web", "--timeout=20s");
    assert.match(out, /deployment "web" successfully rolled out/);
    const [rs] = await sets();
    assert.equal(rs?.metadata?.annotations?.["deployment.kubernetes.io/revision"], "1");
    assert.equal(rs?.metadata?.annotations?.["deployment.kubernetes.io/desired-replicas"], "3");
    assert.equal(rs?.metadata?.annotations?.["deployment.kubernetes.io/max-replicas"], "4");
    const hash = rs?.metadata?.labels?.["pod-template-hash"];
    assert.ok(hash);
    assert.equal(rs?.metadata?.name, `web-${hash}`);
    assert.equal(rs?.spec?.selector.matchLabels?.["pod-template-hash"], hash);
    const d = typed<Deployment>(await cp.client.get(REFS.deployments, "default", "web"));
    const conds = Object.fromEntries((d.status?.conditions ?? []).map((c) => [c.type, c.reason]));
    assert.deepEqual(conds, {
      Available: "MinimumReplicasAvailable",
      Progressing: "NewReplicaSetAvailable",
    });
    assert.equal(d.status?.availableReplicas, 3);
  });

  test("kubectl scale to five adds two pods to the same ReplicaSet", async () => {
    await kubectl("scale", "deployment", "web", "--replicas=5");
    await running(5);
    assert.equal((await sets()).length, 1);
    await kubectl("rollout", "status", "deployment/web", "--timeout=20s");
    const events = await kubectl("get", "events", "--field-selector=reason=ScalingReplicaSet");
    assert.match(events, /Scaled up replica set web-\w+ from 3 to 5/);
  });

  test("set image rolls out a new ReplicaSet and empties the old one", async () => {
    const [first] = await sets();
    await kubectl("set", "image", "deployment/web", "*=nginx:2");
    const out = await kubectl("rollout", "status", "deployment/web", "--timeout=30s");
    assert.match(out, /successfully rolled out/);
    await running(5, "nginx:2");
    const all = await sets();
    assert.equal(all.length, 2);
    const old = all.find((s) => s.metadata?.name === first?.metadata?.name);
    const fresh = all.find((s) => s.metadata?.name !== first?.metadata?.name);
    assert.equal(old?.spec?.replicas, 0);
    assert.equal(fresh?.spec?.replicas, 5);
    assert.equal(fresh?.metadata?.annotations?.["deployment.kubernetes.io/revision"], "2");
    const history = await kubectl("rollout", "history", "deployment/web");
    assert.match(history, /^1\s/m);
    assert.match(history, /^2\s/m);
  });

  test("rollout undo brings the first template back as revision 3", async () => {
    const before = await sets();
    const rev1 = before.find(
      (s) => s.metadata?.annotations?.["deployment.kubernetes.io/revision"] === "1",
    );
    await kubectl("rollout", "undo", "deployment/web");
    await kubectl("rollout", "status", "deployment/web", "--timeout=30s");
    await running(5, "nginx:1");
    const after = await waitFor(
      async () => {
        const all = await sets();
        const s = all.find((x) => x.metadata?.name === rev1?.metadata?.name);
        return s?.metadata?.annotations?.["deployment.kubernetes.io/revision"] === "3"
          ? all
          : undefined;
      },
      { what: "revision 3 on the first ReplicaSet" },
    );
    assert.equal(after.length, 2);
    const rs = after.find((x) => x.metadata?.name === rev1?.metadata?.name);
    assert.equal(rs?.metadata?.annotations?.["deployment.kubernetes.io/revision-history"], "1");
    assert.equal(rs?.spec?.replicas, 5);
    const history = await kubectl("rollout", "history", "deployment/web");
    assert.match(history, /^2\s/m);
    assert.match(history, /^3\s/m);
  });

  test("rollout restart makes a new ReplicaSet", async () => {
    const names = new Set((await sets()).map((s) => s.metadata?.name));
    await kubectl("rollout", "restart", "deployment/web");
    await kubectl("rollout", "status", "deployment/web", "--timeout=30s");
    const all = await sets();
    const fresh = all.filter((s) => !names.has(s.metadata?.name));
    assert.equal(fresh.length, 1);
    assert.equal(fresh[0]?.spec?.replicas, 5);
    assert.equal(fresh[0]?.metadata?.annotations?.["deployment.kubernetes.io/revision"], "4");
    await running(5);
  });

  test("a paused Deployment does not roll out, and resumes", async () => {
    await kubectl("rollout", "pause", "deployment/web");
    const before = (await sets()).length;
    await kubectl("set", "image", "deployment/web", "*=nginx:3");
    const d = await waitFor(
      async () => {
        const x = typed<Deployment>(await cp.client.get(REFS.deployments, "default", "web"));
        return (x.status?.observedGeneration ?? 0) >= (x.metadata?.generation ?? 1) ? x : undefined;
      },
      { what: "the paused change observed" },
    );
    assert.equal(
      d.status?.conditions?.find((c) => c.type === "Progressing")?.reason,
      "DeploymentPaused",
    );
    assert.equal((await sets()).length, before);
    await kubectl("rollout", "resume", "deployment/web");
    await kubectl("rollout", "status", "deployment/web", "--timeout=30s");
    await running(5, "nginx:3");
    assert.equal((await sets()).length, before + 1);
  });

  test("a Recreate Deployment applied by kubectl replaces every pod", async () => {
    const manifest = (image: string) =>
      JSON.stringify({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "db", annotations: { "kubernetes.io/change-cause": `image ${image}` } },
        spec: {
          replicas: 2,
          strategy: { type: "Recreate" },
          selector: { matchLabels: { app: "db" } },
          template: {
            metadata: { labels: { app: "db" } },
            spec: { containers: [{ name: "db", image, command: ["sleep", "3600"] }] },
          },
        },
      });
    const apply = async (image: string) => {
      const r = await cp.api.kubectl(["apply", "-f", "-"], { input: manifest(image) });
      assert.equal(r.code, 0, r.stderr);
    };
    await apply("db:1");
    await kubectl("rollout", "status", "deployment/db", "--timeout=20s");
    await apply("db:2");
    await kubectl("rollout", "status", "deployment/db", "--timeout=20s");
    const dbPods = (await livePods()).filter((p) => p.metadata?.labels?.app === "db");
    assert.deepEqual(
      dbPods.map((p) => p.spec?.containers[0]?.image),
      ["db:2", "db:2"],
    );
    const history = await kubectl("rollout", "history", "deployment/db");
    assert.match(history, /^1\s+image db:1$/m);
    assert.match(history, /^2\s+image db:2$/m);
    const describe = await kubectl("describe", "deployment", "db");
    assert.match(describe, /StrategyType:\s+Recreate/);
    assert.match(describe, /Scaled down replica set db-\w+ from 2 to 0/);
  });

  test("a bare ReplicaSet follows kubectl scale", async () => {
    const rs = {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: { name: "bare" },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: "bare" } },
        template: {
          metadata: { labels: { app: "bare" } },
          spec: { containers: [{ name: "c", image: "busybox", command: ["sleep", "3600"] }] },
        },
      },
    };
    const r = await cp.api.kubectl(["apply", "-f", "-"], { input: JSON.stringify(rs) });
    assert.equal(r.code, 0, r.stderr);
    const bare = async (n: number) =>
      waitFor(
        async () => {
          const ps = (await livePods()).filter((p) => p.metadata?.labels?.app === "bare");
          return ps.length === n ? ps : undefined;
        },
        { what: `${n} bare pods` },
      );
    await bare(2);
    await kubectl("scale", "rs", "bare", "--replicas=4");
    await bare(4);
    await kubectl("scale", "rs", "bare", "--replicas=1");
    await bare(1);
    const got = await waitFor(
      async () => {
        const x = typed<ReplicaSet>(await cp.client.get(REFS.replicasets, "default", "bare"));
        return x.status?.readyReplicas === 1 && x.status.replicas === 1 ? x : undefined;
      },
      { what: "status of one ready replica" },
    );
    assert.equal(got.status?.availableReplicas, 1);
    const table = await kubectl("get", "rs", "bare");
    assert.match(table, /bare\s+1\s+1\s+1\s/);
    const events = await kubectl("get", "events", "--field-selector=involvedObject.name=bare");
    assert.match(events, /SuccessfulCreate\s+replicaset\/bare\s+Created pod: bare-\w{5}/);
    assert.match(events, /SuccessfulDelete\s+replicaset\/bare\s+Deleted pod: bare-\w{5}/);
  });

  test("a rollout that cannot progress fails rollout status after progressDeadlineSeconds", async () => {
    await kubectl(
      "create",
      "deployment",
      "slow",
      "--image=ok",
      "--replicas=2",
      "--",
      "sleep",
      "3600",
    );
    await kubectl("rollout", "status", "deployment/slow", "--timeout=20s");
    await kubectl("patch", "deployment", "slow", "-p", '{"spec":{"progressDeadlineSeconds":2}}');
    await kubectl("set", "image", "deployment/slow", "*=broken");
    const r = await cp.api.kubectl(["rollout", "status", "deployment/slow", "--timeout=20s"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /deployment "slow" exceeded its progress deadline/);
    const d = typed<Deployment>(await cp.client.get(REFS.deployments, "default", "slow"));
    const c = d.status?.conditions?.find((x) => x.type === "Progressing");
    assert.equal(c?.status, "False");
    assert.equal(c?.reason, "ProgressDeadlineExceeded");
    // The old pods stay: maxUnavailable (25% of 2, rounded down) is 0.
    assert.equal(d.status?.availableReplicas, 2);
  });

  const hasGc = CONTROLLERS.some((c) => c.name === "garbagecollector");
  test("deleting the Deployment removes its ReplicaSets and pods", {
    skip: hasGc ? false : "needs the garbage collector controller, not registered yet",
  }, async () => {
    const ownedByWeb = (labels: Record<string, string> | undefined) => labels?.["app"] === "web";
    assert.ok((await sets()).some((rs) => ownedByWeb(rs.metadata?.labels)));
    await kubectl("delete", "deployment", "web");
    await waitFor(
      async () =>
        !(await sets()).some((rs) => ownedByWeb(rs.metadata?.labels)) &&
        !(await cp.client.list(REFS.pods, "default")).items.some((p) =>
          ownedByWeb(p.metadata.labels),
        )
          ? true
          : undefined,
      { what: "web's ReplicaSets and pods gone" },
    );
  });
});
