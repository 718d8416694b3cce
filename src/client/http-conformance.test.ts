// The HTTP client passes the ApiVerbs conformance suite end to end: HttpClient → HTTP → the
// in-memory fake served on the Kubernetes REST paths (`_testing/fake-server.ts`).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { waitFor } from "../_testing/index.ts";
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
      await waitFor(() => fake.watcherCount() === 1, { what: "watching" });
      await fake.create(cm, "ns", mk("live"));
      await waitFor(() => informer.get("ns", "live") !== undefined, { what: "live event" });

      // Keep the informer from re-watching until the history is gone, then let it.
      fake.failNext("watch", new Error("held"));
      fake.closeWatches();
      await waitFor(() => informer.stats().watchErrors === 1, { what: "held watch" });
      await fake.delete(cm, "ns", "before");
      await fake.create(cm, "ns", mk("after"));
      fake.compact();
      await clock.advance(1000);
      await waitFor(() => informer.stats().relistsAfterExpired === 1, { what: "relist" });
      const names = () =>
        informer
          .list()
          .map((o) => o.metadata.name)
          .sort()
          .join(",");
      await waitFor(
        () => {
          assert.equal(names(), "after,live");
          return true;
        },
        { what: "the cache after the relist", retryErrors: true },
      );
      assert.equal(informer.stats().lists, 2);
    } finally {
      await informer.stop();
      fake.closeWatches();
      client.close();
      await server.close();
    }
  });
});
