/**
 * EndpointSlices follow ready pods, end to end: Service and pods created through the API, the
 * controller running as in a cluster, readiness flipped by the (fake) node.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { EndpointSlice } from "kubernetes-types/discovery/v1.js";
import { waitFor } from "../src/_testing/index.ts";
import { REFS } from "../src/api/refs.ts";
import { type KubeObject, typed } from "../src/api/types.ts";
import { startTestControlPlane, type TestControlPlane } from "./_controlplane.ts";

function pod(
  name: string,
  labels: Record<string, string>,
  extra: Record<string, unknown> = {},
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, labels },
    spec: {
      containers: [
        {
          name: "c",
          image: "node",
          command: ["node"],
          ports: [{ name: "http", containerPort: 8080 }],
        },
      ],
      ...extra,
    },
  };
}

describe("EndpointSlice controller", () => {
  let cp: TestControlPlane;
  before(async () => {
    cp = await startTestControlPlane({ controllers: ["endpointslice"], fakeNode: true });
  });
  after(async () => {
    await cp?.stop();
  });

  const slicesOf = async (svc: string) =>
    (
      await cp.client.list(REFS.endpointslices, "default", {
        labelSelector: `kubernetes.io/service-name=${svc}`,
      })
    ).items.map((s) => typed<EndpointSlice>(s));

  test("a Service's slice lists its ready pods with the resolved target port", async () => {
    await cp.client.create(REFS.services, "default", {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web" },
      spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http" }] },
    });
    for (const n of ["web-a", "web-b", "web-c"])
      await cp.client.create(REFS.pods, "default", pod(n, { app: "web" }));
    await cp.client.create(REFS.pods, "default", pod("other", { app: "other" }));
    const slice = await waitFor(
      async () => {
        const s = await slicesOf("web");
        const ready = s.flatMap((x) => x.endpoints ?? []).filter((e) => e.conditions?.ready);
        return s.length === 1 && ready.length === 3 ? s[0] : undefined;
      },
      { what: "three ready endpoints" },
    );
    assert.deepEqual(slice.ports, [{ name: "http", port: 8080, protocol: "TCP" }]);
    assert.equal(slice.addressType, "IPv4");
    assert.equal(
      slice.metadata?.labels?.["endpointslice.kubernetes.io/managed-by"],
      "endpointslice-controller.k8s.io",
    );
    assert.ok(slice.metadata?.annotations?.["endpoints.kubernetes.io/last-change-trigger-time"]);
    assert.deepEqual(slice.endpoints.map((e) => e.targetRef?.name).sort(), [
      "web-a",
      "web-b",
      "web-c",
    ]);
  });

  test("a pod turning unready is marked not ready, and ready again", async () => {
    await cp.node!.setReady("default", "web-b", false);
    await waitFor(
      async () => {
        const eps = (await slicesOf("web")).flatMap((s) => s.endpoints);
        const b = eps.find((e) => e.targetRef?.name === "web-b");
        return b && b.conditions?.ready === false && b.conditions.serving === false
          ? true
          : undefined;
      },
      { what: "web-b not ready" },
    );
    await cp.node!.setReady("default", "web-b", true);
    await waitFor(
      async () => {
        const eps = (await slicesOf("web")).flatMap((s) => s.endpoints);
        return eps.find((e) => e.targetRef?.name === "web-b")?.conditions?.ready ? true : undefined;
      },
      { what: "web-b ready again" },
    );
  });

  test("a headless Service gets hostnames for pods whose subdomain names it", async () => {
    await cp.client.create(REFS.services, "default", {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "db" },
      spec: { clusterIP: "None", selector: { app: "db" }, ports: [{ name: "pg", port: 5432 }] },
    });
    const svc = await cp.client.get(REFS.services, "default", "db");
    assert.equal((svc.spec as { clusterIP: string }).clusterIP, "None");
    await cp.client.create(
      REFS.pods,
      "default",
      pod("db-0", { app: "db" }, { hostname: "db-0", subdomain: "db" }),
    );
    const ep = await waitFor(
      async () =>
        (await slicesOf("db")).flatMap((s) => s.endpoints).find((e) => e.conditions?.ready),
      { what: "db-0 ready" },
    );
    assert.equal(ep.hostname, "db-0");
  });

  test("deleting pods empties the slice to a placeholder", async () => {
    for (const n of ["web-a", "web-b", "web-c"]) await cp.client.delete(REFS.pods, "default", n);
    await waitFor(
      async () => {
        const s = await slicesOf("web");
        return s.length === 1 && s[0]!.endpoints.length === 0 ? true : undefined;
      },
      { what: "an empty placeholder slice" },
    );
  });
});
