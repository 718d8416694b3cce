// The HTTP client passes the ApiVerbs conformance suite end to end: HttpClient → HTTP → the
// in-memory fake served on the Kubernetes REST paths (`_testing/fake-server.ts`).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { KubeObject } from "../api/types.ts";
import type { ResourceRef } from "../api/verbs.ts";
import { FakeClock } from "./_testing/clock.ts";
import { FakeApi } from "./_testing/fake.ts";
import { serveFake } from "./_testing/fake-server.ts";
import { createHttpClient } from "./http.ts";
import { createInformer } from "./informer.ts";
import { runApiVerbsConformance } from "./verbs.conformance.ts";

runApiVerbsConformance("HttpClient over HTTP to the in-memory fake", async () => {
  const fake = new FakeApi();
  const server = await serveFake(fake);
  const client = createHttpClient({ server: server.url });
  return {
    client,
    expireRevisions: async () => fake.compact(),
    teardown: async () => {
      fake.closeWatches();
      client.close();
      await server.close();
    },
  };
});

describe("informer over the HTTP client", () => {
  it("syncs, follows events and relists after a 410 delivered in the watch stream", async () => {
    const fake = new FakeApi();
    const server = await serveFake(fake);
    const client = createHttpClient({ server: server.url });
    const cm: ResourceRef = { group: "", version: "v1", resource: "configmaps" };
    const mk = (name: string): KubeObject => ({ metadata: { name }, data: {} });
    // Real HTTP, but the informer's back-off runs on a manual clock so the test decides when
    // it watches again.
    const clock = new FakeClock();
    const informer = createInformer(client, cm, { backoff: () => 1000, clock });
    try {
      await fake.create(cm, "ns", mk("before"));
      informer.start();
      await informer.waitForSync();
      await until(() => fake.watcherCount() === 1, "watching");
      await fake.create(cm, "ns", mk("live"));
      await until(() => informer.get("ns", "live") !== undefined, "live event");

      // Keep the informer from re-watching until the history is gone, then let it.
      fake.failNext("watch", new Error("held"));
      fake.closeWatches();
      await until(() => informer.stats().watchErrors === 1, "held watch");
      await fake.delete(cm, "ns", "before");
      await fake.create(cm, "ns", mk("after"));
      fake.compact();
      await clock.advance(1000);
      await until(() => informer.stats().relistsAfterExpired === 1, "relist");
      const names = () =>
        informer
          .list()
          .map((o) => o.metadata.name)
          .sort()
          .join(",");
      await until(() => names() === "after,live", `cache after relist (${names()})`);
      assert.equal(informer.stats().lists, 2);
    } finally {
      await informer.stop();
      fake.closeWatches();
      client.close();
      await server.close();
    }
  });
});

async function until(pred: () => boolean, what: string): Promise<void> {
  const start = Date.now();
  while (!pred()) {
    if (Date.now() - start > 5000) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
