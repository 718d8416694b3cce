import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { EventWindow } from "./_window.ts";
import type { StoreEvent } from "./types.ts";

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function event(revision: number, key = `/k/${revision % 3}/x${revision}`): StoreEvent {
  return { type: "ADDED", key, object: { metadata: { name: `x${revision}` } }, revision };
}

/** A window of capacity 5 that has seen revisions 1..12: it keeps 8..12. */
function filled(start = 0): EventWindow {
  const w = new EventWindow({ capacity: 5, maxBacklog: 100, revision: start });
  for (let r = start + 1; r <= start + 12; r++) w.publish(event(r));
  return w;
}

describe("EventWindow", () => {
  const cases: Array<[from: number, prefix: string, want: number[] | "Expired"]> = [
    [12, "/", []],
    [11, "/", [12]],
    [7, "/", [8, 9, 10, 11, 12]],
    [6, "/", "Expired"],
    [0, "/", "Expired"],
    [7, "/k/0/", [9, 12]],
    [9, "/k/1/", [10]],
    [20, "/", []],
  ];
  for (const [from, prefix, want] of cases) {
    test(`after wrapping, a watch of ${prefix} from ${from} replays ${JSON.stringify(want)}`, async () => {
      const w = filled();
      if (want === "Expired") {
        assert.throws(() => w.watch(prefix, { fromRevision: from, onEvent: () => {} }), {
          code: "Expired",
          message: `too old resource version: ${from} (7)`,
        });
        assert.equal(w.watchers, 0);
        return;
      }
      const got: number[] = [];
      w.watch(prefix, { fromRevision: from, onEvent: (e) => got.push(e.revision) });
      await settle();
      assert.deepEqual(got, want);
    });
  }

  test("an empty window starts at the store's revision", () => {
    const w = new EventWindow({ capacity: 5, maxBacklog: 100, revision: 40 });
    assert.equal(w.oldest(), 40);
    assert.throws(() => w.watch("/", { fromRevision: 39, onEvent: () => {} }), { code: "Expired" });
    w.publish(event(41));
    assert.equal(w.oldest(), 40);
  });

  test("stopped, too-slow and closed watches leave the fan-out", async () => {
    const w = filled();
    const stopped = w.watch("/k/", { fromRevision: 12, onEvent: () => {} });
    w.watch("", { fromRevision: 12, onEvent: () => {}, maxBacklog: 1 });
    w.watch("/k/0/", { fromRevision: 12, onEvent: () => {} });
    w.watch("/k/0/x", { fromRevision: 12, onEvent: () => {} });
    assert.equal(w.watchers, 4);
    stopped.stop();
    assert.equal(w.watchers, 3);
    w.publish(event(13));
    w.publish(event(14));
    assert.equal(w.watchers, 2, "the one with maxBacklog 1 is gone");
    w.closeAll("store closed");
    assert.equal(w.watchers, 0);
    await settle();
  });

  test("a paused watch queues events and delivers them in order on resume", async () => {
    const w = new EventWindow({ capacity: 100, maxBacklog: 3, revision: 0 });
    const got: number[] = [];
    const watch = w.watch("/", { fromRevision: 0, onEvent: (e) => got.push(e.revision) });
    watch.pause();
    for (let r = 1; r <= 3; r++) w.publish(event(r));
    await settle();
    assert.deepEqual(got, []);
    watch.resume();
    await settle();
    assert.deepEqual(got, [1, 2, 3]);
  });

  test("the replay does not count against the bound; live events beyond it close the watch", async () => {
    const w = new EventWindow({ capacity: 100, maxBacklog: 2, revision: 0 });
    for (let r = 1; r <= 10; r++) w.publish(event(r));
    const got: number[] = [];
    let closed = "";
    const watch = w.watch("/", {
      fromRevision: 0,
      onEvent: (e) => {
        got.push(e.revision);
        if (e.revision === 4) watch.pause();
      },
      onClose: (reason) => {
        closed = reason;
      },
    });
    await settle();
    assert.deepEqual(got, [1, 2, 3, 4], "paused part-way through a replay of 10");
    w.publish(event(11));
    w.publish(event(12));
    await settle();
    assert.equal(closed, "", "two live events fit the bound of 2");
    w.publish(event(13));
    await settle();
    assert.equal(closed, "too slow");
    assert.deepEqual(got, [1, 2, 3, 4]);
  });

  test("progress is the store's revision when caught up, else the last delivered revision", async () => {
    const w = new EventWindow({ capacity: 100, maxBacklog: 100, revision: 0 });
    const watch = w.watch("/a/", { fromRevision: 0, onEvent: () => {} });
    w.publish(event(1, "/a/1"));
    w.publish(event(2, "/b/2"));
    await settle();
    assert.equal(watch.progress(), 2, "caught up: an event under another prefix counts too");
    watch.pause();
    w.publish(event(3, "/a/3"));
    w.publish(event(4, "/b/4"));
    assert.equal(watch.progress(), 1, "revision 3 waits undelivered");
    watch.resume();
    await settle();
    assert.equal(watch.progress(), 4);
    const ahead = w.watch("/", { fromRevision: 9, onEvent: () => {} });
    assert.equal(ahead.progress(), 9, "a watch from ahead of the store never reports less");
  });
});
