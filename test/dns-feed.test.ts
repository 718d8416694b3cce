/**
 * The DNS view fed from shared informers: pods are kept only when asked for (the `verified` pods
 * mode needs them; the cluster's default `insecure` mode does not, and saves their memory).
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { waitFor } from "../src/_testing/index.ts";
import { REFS } from "../src/api/refs.ts";
import { DnsView } from "../src/dns/index.ts";
import { feedDnsView } from "../src/dns/informers.ts";
import { startTestControlPlane, type TestControlPlane } from "./_controlplane.ts";

let cp: TestControlPlane;
before(async () => {
  cp = await startTestControlPlane({ controllers: ["scheduler"], fakeNode: true });
});
after(() => cp?.stop());

test("feedDnsView keeps pods by default and leaves them out with pods: false", async () => {
  const withPods = new DnsView();
  const withoutPods = new DnsView();
  const feeds = [
    feedDnsView(withPods, cp.informers),
    feedDnsView(withoutPods, cp.informers, { pods: false }),
  ];
  try {
    await Promise.all(feeds.map((f) => f.synced));
    await cp.client.create(REFS.pods, "default", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p", namespace: "default" },
      spec: { containers: [{ name: "c", image: "x", command: ["x"] }] },
    });
    const ip = await waitFor(
      async () => {
        const pod = await cp.client.get(REFS.pods, "default", "p");
        return (pod.status as { podIP?: string } | undefined)?.podIP;
      },
      { what: "the pod's IP", retryErrors: true },
    );
    await waitFor(() => withPods.podExists("default", ip), {
      what: "the pod in the default view",
      retryErrors: true,
    });
    assert.equal(withoutPods.podExists("default", ip), false);
    assert.ok(withoutPods.hasNamespace("default"), "namespaces are still fed");
  } finally {
    for (const f of feeds) f.stop();
  }
});
