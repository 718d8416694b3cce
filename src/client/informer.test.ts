import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { waitFor } from "../_testing/index.ts";
import { internalError } from "../api/errors.ts";
import type { KubeObject } from "../api/types.ts";
import type { ResourceRef } from "../api/verbs.ts";
import { FakeClock, settle } from "./_testing/clock.ts";
import { FakeApi } from "./_testing/fake.ts";
import { createInformer, type InformerOptions, labelIndex } from "./informer.ts";

const cm: ResourceRef = { group: "", version: "v1", resource: "configmaps" };

function configMap(ns: string, name: string, labels: Record<string, string> = {}): KubeObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, namespace: ns, labels },
    data: {},
  };
}

type Seen = [string, string, string?];

function setup(options: InformerOptions = {}) {
  const api = new FakeApi();
  const clock = new FakeClock();
  const errors: { error: unknown; phase: string }[] = [];
  const informer = createInformer(api, cm, {
    clock,
    backoff: () => 1000,
    onError: (error, phase) => errors.push({ error, phase }),
    ...options,
  });
  const seen: Seen[] = [];
  informer.addHandlers({
    onAdd: (o) => seen.push(["add", `${o.metadata.namespace}/${o.metadata.name}`]),
    onUpdate: (a, b) =>
      seen.push([
        "update",
        `${b.metadata.namespace}/${b.metadata.name}`,
        `${a.metadata.resourceVersion}->${b.metadata.resourceVersion}`,
      ]),
    onDelete: (o) => seen.push(["delete", `${o.metadata.namespace}/${o.metadata.name}`]),
  });
  return { api, clock, informer, seen, errors };
}

function watchCalls(api: FakeApi) {
  return api.calls.filter((c) => c.verb === "watch");
}

describe("informer initial sync", () => {
  it("lists in pages, fills the cache, calls onAdd per object and then reports synced", async () => {
    const { api, informer, seen } = setup({ pageSize: 3 });
    for (let i = 0; i < 7; i++) await api.create(cm, "a", configMap("a", `c${i}`));
    await api.create(cm, "b", configMap("b", "other"));
    informer.start();
    await informer.waitForSync();
    assert.equal(informer.hasSynced(), true);
    const lists = api.calls.filter((c) => c.verb === "list");
    assert.equal(lists.length, 3);
    assert.deepEqual(
      lists.map((c) => (c.args[0] as { limit: number }).limit),
      [3, 3, 3],
    );
    assert.equal(seen.length, 8);
    assert.ok(seen.every(([t]) => t === "add"));
    assert.equal(informer.list().length, 8);
    assert.equal(informer.list("a").length, 7);
    assert.equal(informer.get("b", "other")?.metadata.name, "other");
    assert.equal(informer.get("b", "other")?.kind, "ConfigMap", "list items get their kind");
    assert.equal(informer.lastSyncResourceVersion(), api.currentRevision());
    await waitFor(() => watchCalls(api).length === 1, { what: "watch started" });
    const w = watchCalls(api)[0]!.args[0] as {
      resourceVersion: string;
      allowWatchBookmarks: boolean;
    };
    assert.equal(w.resourceVersion, api.currentRevision());
    assert.equal(w.allowWatchBookmarks, true);
    await informer.stop();
  });

  it("asks for pages of 500 by default and passes namespace and selectors through", async () => {
    const { api, informer } = setup({
      namespace: "a",
      labelSelector: "app=x",
      fieldSelector: "metadata.name=n",
    });
    informer.start();
    await informer.waitForSync();
    await waitFor(() => watchCalls(api).length === 1, { what: "watch started" });
    const list = api.calls.find((c) => c.verb === "list")!;
    assert.equal(list.namespace, "a");
    assert.deepEqual(list.args[0], {
      labelSelector: "app=x",
      fieldSelector: "metadata.name=n",
      limit: 500,
    });
    const watch = watchCalls(api)[0]!;
    assert.equal(watch.namespace, "a");
    const wopts = watch.args[0] as Record<string, unknown>;
    assert.equal(wopts.labelSelector, "app=x");
    assert.equal(wopts.fieldSelector, "metadata.name=n");
    await informer.stop();
  });
});

describe("informer watch events", () => {
  it("turns ADDED, MODIFIED and DELETED into onAdd, onUpdate(old, new) and onDelete", async () => {
    const { api, informer, seen } = setup();
    informer.start();
    await informer.waitForSync();
    await waitFor(() => api.watcherCount() === 1, { what: "watching" });
    const created = await api.create(cm, "ns", configMap("ns", "x"));
    const updated = await api.update(cm, "ns", { ...created, data: { k: "v" } });
    await api.delete(cm, "ns", "x");
    await waitFor(() => seen.length === 3, { what: "three events" });
    assert.deepEqual(seen, [
      ["add", "ns/x"],
      [
        "update",
        "ns/x",
        `${created.metadata.resourceVersion}->${updated.metadata.resourceVersion}`,
      ],
      ["delete", "ns/x"],
    ]);
    assert.equal(informer.get("ns", "x"), undefined);
    await informer.stop();
  });

  it("moves its resourceVersion forward on bookmarks", async () => {
    const { api, informer } = setup({ namespace: "mine" });
    informer.start();
    await informer.waitForSync();
    await waitFor(() => api.watcherCount() === 1, { what: "watching" });
    await api.create(cm, "other", configMap("other", "y"));
    const before = informer.lastSyncResourceVersion();
    api.sendBookmarks();
    await waitFor(() => informer.lastSyncResourceVersion() !== before, { what: "bookmark seen" });
    assert.equal(informer.lastSyncResourceVersion(), api.currentRevision());
    await informer.stop();
  });

  it("re-watches from the last resourceVersion when the watch closes, without relisting", async () => {
    const { api, informer } = setup();
    informer.start();
    await informer.waitForSync();
    await waitFor(() => api.watcherCount() === 1, { what: "watching" });
    await api.create(cm, "ns", configMap("ns", "x"));
    await waitFor(() => informer.get("ns", "x") !== undefined, { what: "x cached" });
    const rv = informer.lastSyncResourceVersion();
    api.closeWatches();
    await waitFor(() => watchCalls(api).length === 2, { what: "second watch" });
    assert.equal((watchCalls(api)[1]!.args[0] as { resourceVersion: string }).resourceVersion, rv);
    assert.equal(informer.stats().lists, 1);
    await informer.stop();
  });
});

describe("informer relist after 410 Expired", () => {
  it("relists and synthesizes deletes for vanished objects and updates for changed ones", async () => {
    const { api, clock, informer, seen } = setup();
    await api.create(cm, "ns", configMap("ns", "keep"));
    await api.create(cm, "ns", configMap("ns", "gone"));
    const change = await api.create(cm, "ns", configMap("ns", "change"));
    informer.start();
    await informer.waitForSync();
    await waitFor(() => api.watcherCount() === 1, { what: "watching" });
    seen.length = 0;

    // The watch closes with no event, so the informer waits (back-off) before watching again;
    // meanwhile the world changes and the server forgets the history.
    api.closeWatches();
    await waitFor(() => api.watcherCount() === 0, { what: "watch closed" });
    await api.delete(cm, "ns", "gone");
    const changed = await api.update(cm, "ns", { ...change, data: { v: "2" } });
    await api.create(cm, "ns", configMap("ns", "new"));
    api.compact();
    await clock.advance(1000);
    await waitFor(() => informer.stats().lists === 2, { what: "relisted" });
    await waitFor(() => seen.length === 3, { what: "synthesized events" });

    assert.deepEqual([...seen].sort(), [
      ["add", "ns/new"],
      ["delete", "ns/gone"],
      [
        "update",
        "ns/change",
        `${change.metadata.resourceVersion}->${changed.metadata.resourceVersion}`,
      ],
    ]);
    assert.equal(informer.stats().relistsAfterExpired, 1);
    assert.deepEqual(
      informer
        .list("ns")
        .map((o) => o.metadata.name)
        .sort(),
      ["change", "keep", "new"],
    );
    await informer.stop();
  });

  it("relists when the watch call itself throws 410", async () => {
    const api = new FakeApi();
    const throwing = Object.create(api) as FakeApi;
    let thrown = false;
    throwing.watch = (...args: Parameters<FakeApi["watch"]>) => {
      if (!thrown) {
        thrown = true;
        throw Object.assign(internalError("x"), { code: 410 });
      }
      return api.watch(...args);
    };
    const inf = createInformer(throwing, cm, { backoff: () => 1000, clock: new FakeClock() });
    inf.start();
    await inf.waitForSync();
    await waitFor(() => inf.stats().lists === 2, { what: "relisted after the thrown 410" });
    assert.equal(inf.stats().relistsAfterExpired, 1);
    await inf.stop();
  });
});

describe("informer error handling", () => {
  it("backs off and lists again after a failed list", async () => {
    const { api, clock, informer, errors } = setup();
    api.failNext("list", internalError("etcd is on fire"));
    await api.create(cm, "ns", configMap("ns", "x"));
    informer.start();
    await waitFor(() => errors.length === 1, { what: "list error reported" });
    assert.equal(informer.hasSynced(), false);
    assert.equal(errors[0]!.phase, "list");
    await clock.advance(999);
    assert.equal(informer.hasSynced(), false);
    await clock.advance(1);
    await informer.waitForSync();
    assert.equal(informer.list().length, 1);
    await informer.stop();
  });

  it("backs off and watches again, without relisting, after a watch ERROR other than 410", async () => {
    const { api, clock, informer, errors } = setup();
    informer.start();
    await informer.waitForSync();
    await waitFor(() => api.watcherCount() === 1, { what: "watching" });
    await api.create(cm, "ns", configMap("ns", "x"));
    await waitFor(() => informer.list().length === 1, { what: "x cached" });
    api.failNext("watch", internalError("boom"));
    api.closeWatches();
    await waitFor(() => errors.length === 1, { what: "watch error reported" });
    assert.equal(errors[0]!.phase, "watch");
    assert.equal(watchCalls(api).length, 2);
    await clock.advance(1000);
    await waitFor(() => api.watcherCount() === 1, { what: "watching again" });
    assert.equal(watchCalls(api).length, 3);
    assert.equal(informer.stats().lists, 1);
    await api.create(cm, "ns", configMap("ns", "y"));
    await waitFor(() => informer.list().length === 2, { what: "y cached" });
    await informer.stop();
  });

  it("survives a throwing handler and reports the exception", async () => {
    const { api, informer, errors, seen } = setup();
    informer.addHandlers({
      onAdd: (o) => {
        if (o.metadata.name === "bad") throw new Error("handler bug");
      },
    });
    informer.start();
    await informer.waitForSync();
    await waitFor(() => api.watcherCount() === 1, { what: "watching" });
    await api.create(cm, "ns", configMap("ns", "bad"));
    await api.create(cm, "ns", configMap("ns", "good"));
    await waitFor(() => seen.length === 2, { what: "both events handled by the other handler" });
    assert.equal(informer.stats().handlerErrors, 1);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.phase, "handler");
    assert.ok(informer.get("ns", "good"));
    await informer.stop();
  });
});

describe("informer lister and indexes", () => {
  it("lists by selector predicate and by a label index", async () => {
    const { api, informer } = setup();
    await api.create(cm, "a", configMap("a", "1", { app: "web" }));
    await api.create(cm, "a", configMap("a", "2", { app: "db" }));
    await api.create(cm, "b", configMap("b", "3", { app: "web" }));
    informer.index("app", labelIndex("app"));
    informer.start();
    await informer.waitForSync();
    const names = (os: KubeObject[]) => os.map((o) => o.metadata.name).sort();
    assert.deepEqual(names(informer.byIndex("app", "web")), ["1", "3"]);
    assert.deepEqual(names(informer.byIndex("byNamespace", "a")), ["1", "2"]);
    assert.deepEqual(names(informer.listBySelector("a", (l) => l.app === "web")), ["1"]);
    assert.deepEqual(names(informer.listBySelector("", (l) => l.app === "web")), ["1", "3"]);
    await waitFor(() => api.watcherCount() === 1, { what: "watching" });
    const two = informer.get("a", "2")!;
    await api.update(cm, "a", { ...two, metadata: { ...two.metadata, labels: { app: "web" } } });
    await waitFor(() => informer.byIndex("app", "web").length === 3, {
      what: "index follows updates",
    });
    assert.deepEqual(informer.byIndex("app", "db"), []);
    await informer.stop();
  });

  it("leaves an object out of an index whose function throws, and keeps caching", async () => {
    const { api, informer, errors } = setup();
    informer.index("strict", (o) => {
      if (o.metadata.name === "bad") throw new Error("index bug");
      return ["all"];
    });
    informer.start();
    await informer.waitForSync();
    await waitFor(() => api.watcherCount() === 1, { what: "watching" });
    await api.create(cm, "a", configMap("a", "bad"));
    await api.create(cm, "a", configMap("a", "good"));
    await waitFor(() => informer.list().length === 2, { what: "both cached" });
    assert.deepEqual(
      informer.byIndex("strict", "all").map((o) => o.metadata.name),
      ["good"],
    );
    assert.equal(errors.length, 1);
    await informer.stop();
  });

  it("replays onAdd for cached objects to a handler added after sync", async () => {
    const { api, informer } = setup();
    await api.create(cm, "a", configMap("a", "1"));
    informer.start();
    await informer.waitForSync();
    const late: string[] = [];
    informer.addHandlers({ onAdd: (o) => late.push(o.metadata.name ?? "") });
    assert.deepEqual(late, ["1"]);
    await informer.stop();
  });

  it("resyncs every resyncMs with onUpdate(obj, obj)", async () => {
    const { api, clock, informer, seen } = setup({ resyncMs: 5000 });
    await api.create(cm, "a", configMap("a", "1"));
    informer.start();
    await informer.waitForSync();
    seen.length = 0;
    await clock.advance(4999);
    assert.equal(seen.length, 0);
    await clock.advance(1);
    const rv = informer.get("a", "1")!.metadata.resourceVersion;
    assert.deepEqual(seen, [["update", "a/1", `${rv}->${rv}`]]);
    await clock.advance(5000);
    assert.equal(seen.length, 2);
    await informer.stop();
  });
});

describe("informer stop", () => {
  it("ends the watch, and waitForSync rejects when stopped before the first sync", async () => {
    const { api, informer } = setup();
    api.failNext("list", internalError("down"));
    informer.start();
    const sync = informer.waitForSync();
    await settle();
    await informer.stop();
    await assert.rejects(sync, /stopped before it synced/);
    assert.equal(api.watcherCount(), 0);
  });

  it("stops while a list is still pending", async () => {
    const api = new FakeApi();
    const hanging = Object.create(api) as FakeApi;
    hanging.list = () => new Promise(() => {});
    const informer = createInformer(hanging, cm, { clock: new FakeClock() });
    informer.start();
    await settle();
    await informer.stop();
    assert.equal(informer.hasSynced(), false);
  });

  it("closes its watch when stopped after sync", async () => {
    const { api, informer } = setup();
    informer.start();
    await informer.waitForSync();
    await waitFor(() => api.watcherCount() === 1, { what: "watching" });
    await informer.stop();
    assert.equal(api.watcherCount(), 0);
  });
});
