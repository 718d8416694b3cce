/**
 * The conformance suite every `Store` backend runs (from `memory.test.ts`, `sqlite.test.ts`):
 * one node:test case per invariant of the contract in `types.ts`.
 *
 * `open` must return a fresh, empty store each time and must honour the tuning it is given
 * (small windows and backlogs make the expiry and slow-watcher cases cheap). Each case closes
 * the stores it opens.
 *
 * @module
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { KubeObject } from "../api/types.ts";
import type { StoreTuning } from "./_engine.ts";
import type { Store, StoreEvent, StoreWatch, WatchOptions } from "./types.ts";

export type StoreOpener = (tuning: StoreTuning) => Store | Promise<Store>;

function pod(namespace: string, name: string, extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { namespace, name, labels: { app: name } },
    spec: { containers: [{ name: "c", image: "busybox" }] },
    ...extra,
  };
}

const key = (namespace: string, name: string) => `/pods/${namespace}/${name}`;

/** Lets every queued delivery run: drains are microtasks, so one macrotask turn is enough. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A watch that records what it receives. */
function recorder(
  store: Store,
  prefix: string,
  options: Partial<WatchOptions> & { fromRevision: number },
) {
  const events: StoreEvent[] = [];
  const closes: string[] = [];
  const watch: StoreWatch = store.watch(prefix, {
    onEvent: (e) => events.push(e),
    onClose: (reason) => closes.push(reason),
    ...options,
  });
  return {
    events,
    closes,
    watch,
    summary: () => events.map((e) => `${e.type} ${e.key} ${e.revision}`),
  };
}

function rejects(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.equal((err as { name?: string }).name, "StoreError");
    assert.equal((err as { code?: string }).code, code);
    return true;
  });
}

export function runStoreConformance(name: string, open: StoreOpener): void {
  async function withStore(fn: (store: Store) => unknown, tuning: StoreTuning = {}): Promise<void> {
    const store = await open(tuning);
    try {
      await fn(store);
    } finally {
      store.close();
    }
  }

  describe(`${name} store conformance`, () => {
    describe("reads and writes", () => {
      test("a new store is empty at revision 0", () =>
        withStore((store) => {
          assert.equal(store.revision(), 0);
          assert.equal(store.get("/pods/default/a"), undefined);
          assert.deepEqual(store.list("/"), { items: [], revision: 0 });
          assert.equal(store.count(""), 0);
          assert.equal(store.oldestWatchableRevision(), 0);
          assert.deepEqual(store.health(), { writable: true });
        }));

      test("create stores a copy stamped with the next revision and get returns it", () =>
        withStore((store) => {
          const input = pod("default", "a");
          const created = store.create(key("default", "a"), input);
          assert.equal(created.metadata.resourceVersion, "1");
          assert.equal(input.metadata.resourceVersion, undefined, "the input is not modified");
          (input.metadata.labels as Record<string, string>)["app"] = "changed";
          const got = store.get(key("default", "a"));
          assert.equal(got, created, "readers share the stored instance");
          assert.deepEqual(got?.metadata.labels, { app: "a" }, "the input is not retained");
          assert.deepEqual(got?.["spec"], input["spec"]);
          assert.equal(store.revision(), 1);
        }));

      test("create ignores the resourceVersion the caller sends", () =>
        withStore((store) => {
          store.create("/k/x", pod("default", "x"));
          const obj = pod("default", "y");
          obj.metadata = { ...obj.metadata, resourceVersion: "999" };
          assert.equal(store.create("/k/y", obj).metadata.resourceVersion, "2");
        }));

      test("create on a taken key fails with AlreadyExists and consumes no revision", () =>
        withStore((store) => {
          store.create(key("default", "a"), pod("default", "a"));
          rejects(() => store.create(key("default", "a"), pod("default", "a")), "AlreadyExists");
          assert.equal(store.revision(), 1);
          assert.equal(
            store.create(key("default", "b"), pod("default", "b")).metadata.resourceVersion,
            "2",
          );
        }));

      test("list returns the items under a prefix in key order, and only those", () =>
        withStore((store) => {
          for (const [ns, n] of [
            ["default2", "a"],
            ["default", "c"],
            ["default", "a"],
            ["kube-system", "dns"],
            ["default", "b"],
          ] as const) {
            store.create(key(ns, n), pod(ns, n));
          }
          store.create("/services/default/a", { metadata: { name: "a", namespace: "default" } });
          const names = (prefix: string) =>
            store.list(prefix).items.map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
          assert.deepEqual(names("/pods/default/"), ["default/a", "default/b", "default/c"]);
          assert.deepEqual(names("/pods/default2/"), ["default2/a"]);
          assert.deepEqual(names("/pods/"), [
            "default/a",
            "default/b",
            "default/c",
            "default2/a",
            "kube-system/dns",
          ]);
          assert.deepEqual(names("/pods/nope/"), []);
          assert.equal(store.list("/").items.length, 6);
          assert.equal(store.list("/pods/").revision, 6);
        }));

      test("count tells how many keys are under a prefix", () =>
        withStore((store) => {
          for (let i = 0; i < 5; i++)
            store.create(key("default", `p${i}`), pod("default", `p${i}`));
          for (let i = 0; i < 3; i++)
            store.create(key("default2", `p${i}`), pod("default2", `p${i}`));
          assert.equal(store.count("/pods/default/"), 5);
          assert.equal(store.count("/pods/default2/"), 3);
          assert.equal(store.count("/pods/"), 8);
          assert.equal(store.count("/services/"), 0);
          store.delete(key("default", "p0"));
          assert.equal(store.count("/pods/default/"), 4);
        }));

      test("list with limit pages through every item once, with continueKey and remaining", () =>
        withStore((store) => {
          const all: string[] = [];
          for (let i = 0; i < 23; i++) {
            const n = `p${String(i).padStart(2, "0")}`;
            store.create(key("default", n), pod("default", n));
            all.push(n);
          }
          store.create(key("default2", "zz"), pod("default2", "zz"));
          const seen: string[] = [];
          const remainings: Array<number | undefined> = [];
          let continueKey: string | undefined;
          for (let page = 0; page < 10; page++) {
            const r = store.list(
              "/pods/default/",
              continueKey === undefined ? { limit: 5 } : { limit: 5, continueKey },
            );
            assert.ok(r.items.length <= 5);
            seen.push(...r.items.map((o) => o.metadata.name!));
            remainings.push(r.remaining);
            continueKey = r.continueKey;
            if (continueKey === undefined) break;
          }
          assert.deepEqual(seen, all);
          assert.deepEqual(remainings, [18, 13, 8, 3, undefined]);
        }));

      test("list with a limit that covers every item returns no continueKey", () =>
        withStore((store) => {
          for (const n of ["a", "b", "c"]) store.create(key("default", n), pod("default", n));
          for (const limit of [3, 4, 0]) {
            const r = store.list("/pods/default/", { limit });
            assert.equal(r.items.length, 3, `limit ${limit}`);
            assert.equal(r.continueKey, undefined, `limit ${limit}`);
            assert.equal(r.remaining, undefined, `limit ${limit}`);
          }
        }));

      test("a continueKey still works after its key was deleted", () =>
        withStore((store) => {
          for (const n of ["a", "b", "c", "d"]) store.create(key("default", n), pod("default", n));
          const first = store.list("/pods/default/", { limit: 2 });
          assert.equal(first.continueKey, key("default", "b"));
          store.delete(key("default", "b"));
          const rest = store.list("/pods/default/", { limit: 2, continueKey: first.continueKey! });
          assert.deepEqual(
            rest.items.map((o) => o.metadata.name),
            ["c", "d"],
          );
        }));

      test("update replaces the object and stamps the next revision", () =>
        withStore((store) => {
          store.create(key("default", "a"), pod("default", "a"));
          const updated = store.update(
            key("default", "a"),
            pod("default", "a", { status: { phase: "Running" } }),
          );
          assert.equal(updated.metadata.resourceVersion, "2");
          assert.deepEqual(store.get(key("default", "a"))?.["status"], { phase: "Running" });
        }));

      test("update with the current revision succeeds; with another it fails with Conflict", () =>
        withStore((store) => {
          store.create(key("default", "a"), pod("default", "a"));
          store.create(key("default", "b"), pod("default", "b"));
          rejects(() => store.update(key("default", "a"), pod("default", "a"), 2), "Conflict");
          assert.equal(store.revision(), 2);
          assert.equal(store.get(key("default", "a"))?.metadata.resourceVersion, "1");
          const ok = store.update(key("default", "a"), pod("default", "a"), 1);
          assert.equal(ok.metadata.resourceVersion, "3");
          rejects(() => store.update(key("default", "a"), pod("default", "a"), 1), "Conflict");
        }));

      test("update of a missing key fails with NotFound", () =>
        withStore((store) => {
          rejects(() => store.update(key("default", "a"), pod("default", "a")), "NotFound");
          assert.equal(store.revision(), 0);
        }));

      test("delete removes the object and returns its last state", () =>
        withStore((store) => {
          const created = store.create(key("default", "a"), pod("default", "a"));
          const deleted = store.delete(key("default", "a"));
          assert.deepEqual(deleted, created);
          assert.equal(store.get(key("default", "a")), undefined);
          assert.equal(store.revision(), 2);
          assert.deepEqual(store.list("/pods/").items, []);
          rejects(() => store.delete(key("default", "a")), "NotFound");
          assert.equal(store.revision(), 2);
          assert.equal(
            store.create(key("default", "a"), pod("default", "a")).metadata.resourceVersion,
            "3",
          );
        }));

      test("delete with a stale revision fails with Conflict and keeps the object", () =>
        withStore((store) => {
          store.create(key("default", "a"), pod("default", "a"));
          store.update(key("default", "a"), pod("default", "a"));
          rejects(() => store.delete(key("default", "a"), 1), "Conflict");
          assert.equal(store.get(key("default", "a"))?.metadata.resourceVersion, "2");
          assert.equal(store.delete(key("default", "a"), 2).metadata.resourceVersion, "2");
        }));

      test("revisions strictly increase by one per successful write; failures consume none", () =>
        withStore((store) => {
          const k = key("default", "a");
          const steps: Array<[string, () => unknown, string | null]> = [
            ["create", () => store.create(k, pod("default", "a")), null],
            ["create again", () => store.create(k, pod("default", "a")), "AlreadyExists"],
            ["update", () => store.update(k, pod("default", "a")), null],
            ["update stale", () => store.update(k, pod("default", "a"), 1), "Conflict"],
            ["update missing", () => store.update(key("x", "y"), pod("x", "y")), "NotFound"],
            ["delete stale", () => store.delete(k, 1), "Conflict"],
            ["delete missing", () => store.delete(key("x", "y")), "NotFound"],
            ["create other", () => store.create(key("default", "b"), pod("default", "b")), null],
            ["delete", () => store.delete(k), null],
            ["create again after delete", () => store.create(k, pod("default", "a")), null],
          ];
          let expected = 0;
          for (const [label, write, error] of steps) {
            if (error) rejects(write, error);
            else {
              write();
              expected++;
            }
            assert.equal(store.revision(), expected, label);
          }
        }));

      test("random writes agree with a reference model, and watchers that apply the events rebuild the store", () =>
        withStore(async (store) => {
          let seed = 12345;
          const random = () => {
            seed = (seed * 1664525 + 1013904223) >>> 0;
            return seed / 2 ** 32;
          };
          const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
          const model = new Map<string, number>();
          let revision = 0;
          const mirrors = ["/", "/pods/b/"].map((prefix) => {
            const state = new Map<string, string>();
            store.watch(prefix, {
              fromRevision: 0,
              onEvent: (e) => {
                if (e.type === "DELETED") state.delete(e.key);
                else state.set(e.key, e.object.metadata.resourceVersion!);
              },
            });
            return { prefix, state };
          });
          for (let step = 0; step < 1500; step++) {
            const ns = pick(["a", "b", "b2"]);
            const n = `p${Math.floor(random() * 15)}`;
            const k = key(ns, n);
            const current = model.get(k);
            const expected = random() < 0.5 ? undefined : random() < 0.7 ? current : revision;
            const op = pick(["create", "update", "delete"] as const);
            const want =
              op === "create"
                ? current === undefined
                  ? null
                  : "AlreadyExists"
                : current === undefined
                  ? "NotFound"
                  : expected !== undefined && expected !== current
                    ? "Conflict"
                    : null;
            const run = () =>
              op === "create"
                ? store.create(k, pod(ns, n))
                : op === "update"
                  ? store.update(k, pod(ns, n, { step }), expected)
                  : store.delete(k, expected);
            if (want !== null) {
              rejects(run, want);
            } else {
              run();
              revision++;
              if (op === "delete") model.delete(k);
              else model.set(k, revision);
            }
            assert.equal(store.revision(), revision, `step ${step}`);
            if (step % 100 === 0) await settle();
          }
          await settle();
          const listed = (prefix: string) =>
            new Map(
              store
                .list(prefix)
                .items.map((o) => [
                  key(o.metadata.namespace!, o.metadata.name!),
                  o.metadata.resourceVersion!,
                ]),
            );
          assert.deepEqual(listed("/"), new Map([...model].map(([k, rv]) => [k, String(rv)])));
          for (const { prefix, state } of mirrors) assert.deepEqual(state, listed(prefix), prefix);
          assert.equal(store.count("/pods/b/"), listed("/pods/b/").size);
        }));

      test("objects handed out are shared: list, get and events return the stored instance", () =>
        withStore(async (store) => {
          const r = recorder(store, "/pods/", { fromRevision: 0 });
          const created = store.create(key("default", "a"), pod("default", "a"));
          await settle();
          assert.equal(store.get(key("default", "a")), created);
          assert.equal(store.list("/pods/").items[0], created);
          assert.equal(r.events[0]?.object, created);
        }));
    });

    describe("watch", () => {
      test("a watch from the current revision gets only new events, in order", () =>
        withStore(async (store) => {
          store.create(key("default", "old"), pod("default", "old"));
          const r = recorder(store, "/pods/", { fromRevision: store.revision() });
          store.create(key("default", "a"), pod("default", "a"));
          store.update(key("default", "a"), pod("default", "a"));
          store.delete(key("default", "a"));
          await settle();
          assert.deepEqual(r.summary(), [
            "ADDED /pods/default/a 2",
            "MODIFIED /pods/default/a 3",
            "DELETED /pods/default/a 4",
          ]);
          assert.deepEqual(
            r.events.map((e) => e.object.metadata.resourceVersion),
            ["2", "3", "4"],
          );
        }));

      test("a watch from a past revision replays the window, then continues live", () =>
        withStore(async (store) => {
          for (const n of ["a", "b", "c"]) store.create(key("default", n), pod("default", n));
          store.update(key("default", "a"), pod("default", "a"));
          const r = recorder(store, "/pods/", { fromRevision: 2 });
          store.create(key("default", "d"), pod("default", "d"));
          await settle();
          store.delete(key("default", "b"));
          await settle();
          assert.deepEqual(r.summary(), [
            "ADDED /pods/default/c 3",
            "MODIFIED /pods/default/a 4",
            "ADDED /pods/default/d 5",
            "DELETED /pods/default/b 6",
          ]);
        }));

      test("a watch from a revision ahead of the store gets only the events after it", () =>
        withStore(async (store) => {
          store.create(key("default", "a"), pod("default", "a"));
          const r = recorder(store, "/pods/", { fromRevision: 3 });
          for (const n of ["b", "c", "d"]) store.create(key("default", n), pod("default", n));
          await settle();
          assert.deepEqual(r.summary(), ["ADDED /pods/default/d 4"]);
        }));

      test("a watch from revision 0 replays every event of a young store", () =>
        withStore(async (store) => {
          store.create(key("default", "a"), pod("default", "a"));
          store.create(key("default", "b"), pod("default", "b"));
          const r = recorder(store, "/pods/", { fromRevision: 0 });
          await settle();
          assert.deepEqual(r.summary(), ["ADDED /pods/default/a 1", "ADDED /pods/default/b 2"]);
        }));

      test("a watch from a revision older than the window throws Expired with kube's wording", () =>
        withStore(
          (store) => {
            for (let i = 0; i < 10; i++)
              store.create(key("default", `p${i}`), pod("default", `p${i}`));
            assert.equal(store.oldestWatchableRevision(), 6);
            assert.throws(
              () => store.watch("/pods/", { fromRevision: 5, onEvent: () => {} }),
              (err: unknown) => {
                assert.equal((err as { code?: string }).code, "Expired");
                assert.equal((err as Error).message, "too old resource version: 5 (6)");
                return true;
              },
            );
            store.watch("/pods/", { fromRevision: 6, onEvent: () => {} }).stop();
          },
          { windowSize: 4 },
        ));

      test("a watch from the oldest watchable revision replays the whole window", () =>
        withStore(
          async (store) => {
            for (let i = 0; i < 10; i++)
              store.create(key("default", `p${i}`), pod("default", `p${i}`));
            const r = recorder(store, "/pods/", { fromRevision: store.oldestWatchableRevision() });
            await settle();
            assert.deepEqual(
              r.events.map((e) => e.revision),
              [7, 8, 9, 10],
            );
          },
          { windowSize: 4 },
        ));

      test("a watch sees only events under its prefix", () =>
        withStore(async (store) => {
          const def = recorder(store, "/pods/default/", { fromRevision: 0 });
          const def2 = recorder(store, "/pods/default2/", { fromRevision: 0 });
          const all = recorder(store, "", { fromRevision: 0 });
          const exact = recorder(store, "/pods/default/a", { fromRevision: 0 });
          store.create(key("default", "a"), pod("default", "a"));
          store.create(key("default2", "a"), pod("default2", "a"));
          store.create(key("default", "ab"), pod("default", "ab"));
          store.create("/services/default/a", { metadata: { name: "a" } });
          await settle();
          assert.deepEqual(def.summary(), ["ADDED /pods/default/a 1", "ADDED /pods/default/ab 3"]);
          assert.deepEqual(def2.summary(), ["ADDED /pods/default2/a 2"]);
          assert.equal(all.events.length, 4);
          assert.deepEqual(exact.summary(), [
            "ADDED /pods/default/a 1",
            "ADDED /pods/default/ab 3",
          ]);
          // Replays filter by prefix too.
          const late = recorder(store, "/pods/default2/", { fromRevision: 0 });
          await settle();
          assert.deepEqual(late.summary(), ["ADDED /pods/default2/a 2"]);
        }));

      test("MODIFIED carries the previous object; DELETED carries the last state at the delete's revision", () =>
        withStore(async (store) => {
          const r = recorder(store, "/pods/", { fromRevision: 0 });
          const v1 = store.create(key("default", "a"), pod("default", "a"));
          const v2 = store.update(
            key("default", "a"),
            pod("default", "a", { status: { phase: "Running" } }),
          );
          store.delete(key("default", "a"));
          await settle();
          const [added, modified, deleted] = r.events;
          assert.equal(added?.prevObject, undefined);
          assert.equal(modified?.prevObject, v1);
          assert.equal(modified?.object, v2);
          assert.equal(deleted?.type, "DELETED");
          assert.equal(deleted?.revision, 3);
          assert.equal(deleted?.object.metadata.resourceVersion, "3");
          assert.deepEqual(deleted?.object["status"], { phase: "Running" });
          assert.equal(deleted?.object.metadata.name, "a");
          assert.equal(deleted?.prevObject, v2);
          assert.equal(v2.metadata.resourceVersion, "2", "the stored object is not modified");
        }));

      test("delivery is asynchronous: a writer never runs watcher code", () =>
        withStore(async (store) => {
          let delivered = 0;
          store.watch("/pods/", { fromRevision: 0, onEvent: () => delivered++ });
          for (let i = 0; i < 50; i++) {
            store.create(key("default", `p${i}`), pod("default", `p${i}`));
            assert.equal(delivered, 0);
          }
          await settle();
          assert.equal(delivered, 50);
        }));

      test("a watcher whose backlog passes its bound is closed as too slow; the writer and other watchers go on", () =>
        withStore(async (store) => {
          const slow = recorder(store, "/pods/", { fromRevision: 0, maxBacklog: 5 });
          const fast = recorder(store, "/pods/", { fromRevision: 0 });
          for (let i = 0; i < 20; i++)
            store.create(key("default", `p${i}`), pod("default", `p${i}`));
          assert.equal(store.revision(), 20, "every write completed");
          await settle();
          assert.deepEqual(slow.closes, ["too slow"]);
          assert.equal(slow.events.length, 0, "the dropped backlog is not delivered");
          assert.equal(fast.events.length, 20);
          assert.deepEqual(fast.closes, []);
          store.create(key("default", "late"), pod("default", "late"));
          await settle();
          assert.equal(slow.events.length, 0, "a closed watch gets nothing more");
          assert.equal(fast.events.length, 21);
        }));

      test("the backlog bound counts undelivered events only: a watcher that keeps up stays open", () =>
        withStore(async (store) => {
          const r = recorder(store, "/pods/", { fromRevision: 0, maxBacklog: 5 });
          for (let round = 0; round < 10; round++) {
            for (let i = 0; i < 5; i++) {
              store.create(key("default", `p${round}-${i}`), pod("default", "p"));
            }
            await settle();
          }
          assert.equal(r.events.length, 50);
          assert.deepEqual(r.closes, []);
        }));

      test("a replay larger than maxBacklog is delivered in full", () =>
        withStore(async (store) => {
          for (let i = 0; i < 30; i++) store.create(key("default", `p${i}`), pod("default", "p"));
          const r = recorder(store, "/pods/", { fromRevision: 0, maxBacklog: 5 });
          store.create(key("default", "live"), pod("default", "live"));
          await settle();
          assert.equal(r.events.length, 31);
          assert.deepEqual(r.closes, []);
        }));

      test("stop() ends delivery at once and calls no onClose", () =>
        withStore(async (store) => {
          const r = recorder(store, "/pods/", { fromRevision: 0 });
          store.create(key("default", "a"), pod("default", "a"));
          r.watch.stop();
          store.create(key("default", "b"), pod("default", "b"));
          await settle();
          assert.deepEqual(r.events, []);
          assert.deepEqual(r.closes, []);
          r.watch.stop();
        }));

      test("stop() inside onEvent stops the rest of the batch", () =>
        withStore(async (store) => {
          const seen: number[] = [];
          const w = store.watch("/pods/", {
            fromRevision: 0,
            onEvent: (e) => {
              seen.push(e.revision);
              if (e.revision === 2) w.stop();
            },
          });
          for (let i = 0; i < 5; i++) store.create(key("default", `p${i}`), pod("default", "p"));
          await settle();
          assert.deepEqual(seen, [1, 2]);
        }));

      test("events written by a watcher's own callback are delivered after the one that caused them", () =>
        withStore(async (store) => {
          const seen: string[] = [];
          store.watch("/pods/", {
            fromRevision: 0,
            onEvent: (e) => {
              seen.push(`${e.type} ${e.key}`);
              if (e.type === "ADDED" && e.key === key("default", "a")) {
                store.create(key("default", "b"), pod("default", "b"));
              }
            },
          });
          store.create(key("default", "a"), pod("default", "a"));
          store.create(key("default", "c"), pod("default", "c"));
          await settle();
          assert.deepEqual(seen, [
            "ADDED /pods/default/a",
            "ADDED /pods/default/c",
            "ADDED /pods/default/b",
          ]);
        }));

      test("a callback that throws closes only its own watch, with the error in the reason", () =>
        withStore(async (store) => {
          const closes: string[] = [];
          store.watch("/pods/", {
            fromRevision: 0,
            onEvent: () => {
              throw new Error("boom");
            },
            onClose: (reason) => closes.push(reason),
          });
          const ok = recorder(store, "/pods/", { fromRevision: 0 });
          store.create(key("default", "a"), pod("default", "a"));
          store.create(key("default", "b"), pod("default", "b"));
          await settle();
          assert.deepEqual(closes, ["watcher failed: boom"]);
          assert.equal(ok.events.length, 2);
        }));

      test("close() ends every watch with onClose and the store refuses further use", async () => {
        const store = await open({});
        const a = recorder(store, "/pods/", { fromRevision: 0 });
        const b = recorder(store, "", { fromRevision: 0 });
        store.create(key("default", "a"), pod("default", "a"));
        store.close();
        await settle();
        assert.deepEqual(a.closes, ["store closed"]);
        assert.deepEqual(b.closes, ["store closed"]);
        assert.throws(() => store.create(key("default", "b"), pod("default", "b")), /closed/);
        assert.throws(() => store.watch("/", { fromRevision: 0, onEvent: () => {} }), /closed/);
        store.close();
      });

      test("a rejected watch start leaves no watcher behind and a bad fromRevision is refused", () =>
        withStore((store) => {
          assert.throws(
            () => store.watch("/", { fromRevision: -1, onEvent: () => {} }),
            RangeError,
          );
          assert.throws(
            () => store.watch("/", { fromRevision: 1.5, onEvent: () => {} }),
            RangeError,
          );
        }));
    });
  });
}
