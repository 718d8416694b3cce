/**
 * The API server judged by the official JavaScript client, @kubernetes/client-node: CRUD, watch,
 * and an informer that survives a forced 410 Expired by re-listing.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { waitFor } from "../src/_testing/index.ts";
import { startTestApiServer, type TestApiServer } from "./_apiserver.ts";

describe("@kubernetes/client-node", () => {
  let api: TestApiServer;
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let apps: k8s.AppsV1Api;

  before(async () => {
    api = await startTestApiServer({ eventWindow: 20 });
    kc = new k8s.KubeConfig();
    kc.loadFromString(api.kubeconfig);
    core = kc.makeApiClient(k8s.CoreV1Api);
    apps = kc.makeApiClient(k8s.AppsV1Api);
  });
  after(async () => {
    await api?.stop();
  });

  test("creates, reads, lists, replaces and deletes", async () => {
    const created = await core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "one", labels: { app: "x" } }, data: { a: "1" } },
    });
    assert.ok(created.metadata?.uid);
    const read = await core.readNamespacedConfigMap({ name: "one", namespace: "default" });
    assert.equal(read.data?.["a"], "1");
    const listed = await core.listNamespacedConfigMap({
      namespace: "default",
      labelSelector: "app=x",
    });
    assert.deepEqual(
      listed.items.map((i) => i.metadata?.name),
      ["one"],
    );
    read.data = { a: "2" };
    const replaced = await core.replaceNamespacedConfigMap({
      name: "one",
      namespace: "default",
      body: read,
    });
    assert.equal(replaced.data?.["a"], "2");
    assert.notEqual(replaced.metadata?.resourceVersion, read.metadata?.resourceVersion);
    await core.deleteNamespacedConfigMap({ name: "one", namespace: "default" });
    await assert.rejects(
      core.readNamespacedConfigMap({ name: "one", namespace: "default" }),
      (e: unknown) => (e as { code?: number }).code === 404,
    );
  });

  test("creates a Deployment with defaults filled in", async () => {
    const d = await apps.createNamespacedDeployment({
      namespace: "default",
      body: {
        metadata: { name: "web" },
        spec: {
          selector: { matchLabels: { app: "web" } },
          template: {
            metadata: { labels: { app: "web" } },
            spec: { containers: [{ name: "web", image: "nginx", command: ["sleep", "1"] }] },
          },
        },
      },
    });
    assert.equal(d.spec?.replicas, 1);
    assert.equal(d.spec?.strategy?.type, "RollingUpdate");
    assert.equal(d.spec?.revisionHistoryLimit, 10);
    assert.equal(d.spec?.template.spec?.restartPolicy, "Always");
  });

  test("watch delivers ADDED, MODIFIED and DELETED in order", async () => {
    const events: string[] = [];
    const watch = new k8s.Watch(kc);
    const list = await core.listNamespacedConfigMap({ namespace: "default" });
    const req = await watch.watch(
      "/api/v1/namespaces/default/configmaps",
      { resourceVersion: list.metadata?.resourceVersion },
      (type, obj: k8s.V1ConfigMap) => {
        if (obj.metadata?.name === "w") events.push(type);
      },
      () => {},
    );
    try {
      await core.createNamespacedConfigMap({
        namespace: "default",
        body: { metadata: { name: "w" } },
      });
      await core.patchNamespacedConfigMap(
        { name: "w", namespace: "default", body: { data: { k: "v" } } },
        k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
      );
      await core.deleteNamespacedConfigMap({ name: "w", namespace: "default" });
      await waitFor(() => events.length >= 3, { what: "three watch events" });
      assert.deepEqual(events, ["ADDED", "MODIFIED", "DELETED"]);
    } finally {
      req.abort();
    }
  });

  test("an informer survives a forced 410 by re-listing", async () => {
    const informer = k8s.makeInformer(kc, "/api/v1/namespaces/default/configmaps", () =>
      core.listNamespacedConfigMap({ namespace: "default" }),
    );
    const seen = new Set<string>();
    informer.on("add", (o) => seen.add(o.metadata?.name ?? ""));
    // client-node's documented pattern: an informer stops on a connection error and is restarted.
    let restarts = 0;
    let stopped = false;
    informer.on("error", () => {
      restarts++;
      setTimeout(() => {
        if (!stopped) void informer.start();
      }, 50);
    });
    await informer.start();
    try {
      await core.createNamespacedConfigMap({
        namespace: "default",
        body: { metadata: { name: "before" } },
      });
      await waitFor(() => seen.has("before"), { what: "the informer to add before" });
      // Cut every connection, then write more than the event window holds before the informer
      // reconnects: its resourceVersion is now too old and the server answers 410 Expired.
      api.server.dropConnections();
      const registry = api.server.registry;
      for (let i = 0; i < 50; i++) {
        registry.createSync({ group: "", version: "v1", resource: "configmaps" }, "default", {
          metadata: { name: `burst-${i}` },
        });
      }
      await waitFor(() => seen.has("burst-49"), {
        what: "the informer to re-list and add burst-49",
      });
      assert.equal([...seen].filter((n) => n.startsWith("burst-")).length, 50);
      assert.ok(restarts >= 1, "the dropped connection was seen");
      assert.ok(api.server.registry.ctx.store.oldestWatchableRevision() > 1);
    } finally {
      stopped = true;
      await informer.stop();
    }
  });

  test("an informer restarted after more than 16 MiB of writes catches up from its resourceVersion", async () => {
    // client-node's ListWatch resumes from the last resourceVersion it saw; the replay of 18 MiB
    // must reach it whole (a server that cut it would be asked for the same replay forever).
    const big = await startTestApiServer();
    const bigKc = new k8s.KubeConfig();
    bigKc.loadFromString(big.kubeconfig);
    const bigCore = bigKc.makeApiClient(k8s.CoreV1Api);
    const informer = k8s.makeInformer(bigKc, "/api/v1/namespaces/default/configmaps", () =>
      bigCore.listNamespacedConfigMap({ namespace: "default" }),
    );
    const seen = new Set<string>();
    const errors: string[] = [];
    informer.on("add", (o) => seen.add(o.metadata?.name ?? ""));
    informer.on("error", (e) => {
      errors.push(String(e));
    });
    try {
      await informer.start();
      await bigCore.createNamespacedConfigMap({
        namespace: "default",
        body: { metadata: { name: "first" } },
      });
      await waitFor(() => seen.has("first"), { what: "the informer to add first" });
      await informer.stop();
      const value = "x".repeat(900 * 1024);
      for (let i = 0; i < 20; i++) {
        await bigCore.createNamespacedConfigMap({
          namespace: "default",
          body: { metadata: { name: `big-${i}` }, data: { v: value } },
        });
      }
      await informer.start();
      await waitFor(() => seen.has("big-19"), {
        what: "the restarted informer to add big-19",
        timeoutMs: 30_000,
      });
      assert.equal([...seen].filter((n) => n.startsWith("big-")).length, 20);
      // The one error is our own stop(): client-node reports the aborted request.
      assert.deepEqual(
        errors.filter((e) => !e.includes("aborted")),
        [],
      );
    } finally {
      await informer.stop();
      await big.stop();
    }
  });
});
