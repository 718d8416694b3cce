import assert from "node:assert/strict";
import { test } from "node:test";
import { openStore, type StoreEvent } from "./index.ts";
import { MemoryStore } from "./memory.ts";
import { runStoreConformance } from "./store.conformance.ts";

runStoreConformance("memory", (tuning) => new MemoryStore(tuning));

test("with freeze, a caller mutating a stored object fails loudly", async () => {
  const store = new MemoryStore({ freeze: true });
  const events: StoreEvent[] = [];
  store.watch("/", { fromRevision: 0, onEvent: (e) => events.push(e) });
  const created = store.create("/pods/default/a", { metadata: { name: "a", labels: { x: "1" } } });
  assert.throws(() => {
    (created.metadata.labels as Record<string, string>)["x"] = "2";
  }, TypeError);
  store.delete("/pods/default/a");
  await new Promise((resolve) => setImmediate(resolve));
  assert.throws(() => {
    (events[1]!.object.metadata as { name?: string }).name = "b";
  }, TypeError);
  store.close();
});

test("openStore opens the backend it is asked for", () => {
  const store = openStore({ backend: "memory" }, { windowSize: 2 });
  assert.ok(store instanceof MemoryStore);
  for (const n of ["a", "b", "c"]) store.create(`/k/${n}`, { metadata: { name: n } });
  assert.equal(store.oldestWatchableRevision(), 1);
  store.close();
});
