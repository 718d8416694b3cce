import assert from "node:assert/strict";
import { test } from "node:test";
import { waitFor } from "../_testing/index.ts";
import { REFS } from "../api/refs.ts";
import type { KubeObject } from "../api/types.ts";
import { createInformerFactory } from "../client/factory.ts";
import { FakeApi, settle } from "../client/testing.ts";
import { defineController } from "./_define.ts";

const configMap = (name: string): KubeObject => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace: "a" },
});

test("defineController runs the reconcile for watched keys and stops in order: handlers, hooks, queue, events", async () => {
  const api = new FakeApi();
  const informers = createInformerFactory(api);
  const seen: string[] = [];
  const steps: string[] = [];
  let release: () => void = () => {};
  const start = defineController<{ tag: string }>({
    name: "test-controller",
    setup({ ctx, queue, watch, onStop, eventsFor }, options) {
      const maps = ctx.informers.get(REFS.configmaps);
      watch(maps, { onAdd: (m) => queue.add(`${options.tag}:${m.metadata.name}`) });
      onStop(() => steps.push(`hook, queue shut down: ${queue.shuttingDown()}`));
      const event = eventsFor({ apiVersion: "v1", kind: "ConfigMap" });
      return async (key) => {
        seen.push(key);
        event(configMap("one"), "Normal", "Seen", "seen");
        if (key.endsWith("two")) await new Promise<void>((r) => (release = r));
      };
    },
  });
  const ctl = start({ client: api, informers, now: () => new Date() }, { tag: "t" });
  informers.start();
  await informers.waitForSync();
  await api.create(REFS.configmaps, "a", configMap("one"));
  await api.create(REFS.configmaps, "a", configMap("two"));
  await waitFor(() => seen.length >= 2, { what: "two keys reconciled" });
  assert.deepEqual(seen, ["t:one", "t:two"]);
  assert.equal(ctl.name, "test-controller");

  const stopped = ctl.stop().then(() => steps.push("stopped"));
  // Everything here is I/O-free: once settled, a stop that did not wait for the worker is done.
  await settle();
  // The worker still runs "two": stop waits for it.
  assert.deepEqual(steps, ["hook, queue shut down: false"]);
  await api.create(REFS.configmaps, "a", configMap("three"));
  release();
  await stopped;
  assert.deepEqual(seen, ["t:one", "t:two"], "nothing new runs once stop has begun");
  const events = (await api.list(REFS.events, "a")).items;
  assert.equal(events.length, 1, "the two events were aggregated and flushed before stop returned");
  assert.equal((events[0] as { count?: number }).count, 2);
  await informers.stop();
});
