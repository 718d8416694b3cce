/**
 * The conformance suite every `ApiVerbs` implementation must pass: the in-process registry, the
 * HTTP client against our API server, and the test double in `_testing/fake.ts`. A test file
 * calls `runApiVerbsConformance(name, setup)`; `setup` runs once for the suite.
 *
 * Expectations are the real API server's: reasons, codes and messages of NotFound,
 * AlreadyExists and Conflict; generateName; dry run; cluster-scoped objects and lists across
 * namespaces (`namespace === ""`); list by label selector and in pages; ordered watch events;
 * merge, JSON and strategic patches; the deployment `status` subresource; delete with and
 * without finalizers, deletecollection; 410 Expired for a watch from a revision the server no
 * longer keeps.
 *
 * The suite uses namespace `default` (it must exist) and names with a random suffix, so it can
 * run against a shared server. Its only timer is a 10 s safety net that fails a watch test
 * whose events never come.
 *
 * @module
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { isStatusError, type StatusReason } from "../api/errors.ts";
import type { KubeObject, WatchEvent } from "../api/types.ts";
import type { ApiVerbs, ResourceRef, WatchOptions } from "../api/verbs.ts";

export interface ConformanceTarget {
  client: ApiVerbs;
  teardown(): Promise<void>;
  /**
   * Makes every revision issued so far too old to watch from (e.g. compacts the store). Without
   * it the 410 test is skipped.
   */
  expireRevisions?(): Promise<void>;
}

const NS = "default";
const configmaps: ResourceRef = { group: "", version: "v1", resource: "configmaps" };
const namespaces: ResourceRef = { group: "", version: "v1", resource: "namespaces" };
const deployments: ResourceRef = { group: "apps", version: "v1", resource: "deployments" };
const deploymentStatus: ResourceRef = { ...deployments, subresource: "status" };

function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString("hex")}`;
}

function configMap(name: string, data: Record<string, string>, labels?: Record<string, string>) {
  const metadata: KubeObject["metadata"] = labels ? { name, labels } : { name };
  return { apiVersion: "v1", kind: "ConfigMap", metadata, data } as KubeObject;
}

function deployment(name: string): KubeObject {
  const labels = { app: name };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: "a", image: "example.invalid/a:1" }] },
      },
    },
  };
}

async function expectStatus(
  call: Promise<unknown>,
  reason: StatusReason,
  code: number,
  message?: string,
): Promise<void> {
  await assert.rejects(call, (e: unknown) => {
    assert.ok(isStatusError(e), `expected a StatusError, got ${String(e)}`);
    assert.equal(e.reason, reason);
    assert.equal(e.code, code);
    if (message !== undefined) assert.equal(e.message, message);
    return true;
  });
}

/** Watches until `until` holds for the events so far (or fails after 10 s). */
async function collect(
  client: ApiVerbs,
  ref: ResourceRef,
  options: WatchOptions,
  act: () => Promise<void>,
  until: (events: WatchEvent[]) => boolean,
): Promise<WatchEvent[]> {
  const events: WatchEvent[] = [];
  let wake = () => {};
  const handle = client.watch(ref, NS, options, (e) => {
    events.push(e);
    wake();
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await act();
    await new Promise<void>((resolve, reject) => {
      wake = () => {
        if (until(events)) resolve();
      };
      timer = setTimeout(
        () =>
          reject(
            new Error(`watch events never matched: ${JSON.stringify(events.map((e) => e.type))}`),
          ),
        10_000,
      );
      void handle.done.then(() => {
        if (!until(events)) reject(new Error("watch ended before the expected events"));
      });
      wake();
    });
  } finally {
    clearTimeout(timer);
    handle.stop();
    await handle.done;
  }
  return events;
}

export function runApiVerbsConformance(
  name: string,
  setup: () => Promise<ConformanceTarget>,
): void {
  describe(`ApiVerbs conformance: ${name}`, () => {
    let target: ConformanceTarget;
    let client: ApiVerbs;
    before(async () => {
      target = await setup();
      client = target.client;
    });
    after(async () => {
      await target.teardown();
    });

    it("create returns the stored object with uid, resourceVersion and creationTimestamp", async () => {
      const n = uniqueName("conf-create");
      const created = await client.create(configmaps, NS, configMap(n, { k: "v" }));
      assert.equal(created.metadata.name, n);
      assert.equal(created.metadata.namespace, NS);
      assert.ok(created.metadata.uid, "uid");
      assert.ok(created.metadata.resourceVersion, "resourceVersion");
      assert.ok(created.metadata.creationTimestamp, "creationTimestamp");
      assert.deepEqual(created.data, { k: "v" });
      const got = await client.get(configmaps, NS, n);
      assert.equal(got.metadata.uid, created.metadata.uid);
      assert.equal(got.metadata.resourceVersion, created.metadata.resourceVersion);
      assert.deepEqual(got.data, { k: "v" });
    });

    it("create with generateName gets a name with a random suffix", async () => {
      const created = await client.create(configmaps, NS, {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { generateName: "conf-gen-" },
      });
      assert.match(created.metadata.name ?? "", /^conf-gen-[a-z0-9]{5}$/);
      await client.get(configmaps, NS, created.metadata.name!);
    });

    it("a dry-run create answers the object but does not store it", async () => {
      const n = uniqueName("conf-dry");
      const out = await client.create(configmaps, NS, configMap(n, { k: "v" }), { dryRun: true });
      assert.equal(out.metadata.name, n);
      await expectStatus(client.get(configmaps, NS, n), "NotFound", 404);
    });

    it("a cluster-scoped object is addressed with the empty namespace", async () => {
      const n = uniqueName("conf-ns");
      const created = await client.create(namespaces, "", {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: n },
      });
      assert.equal(created.metadata.namespace, undefined);
      assert.equal((await client.get(namespaces, "", n)).metadata.uid, created.metadata.uid);
      const all = await client.list(namespaces, "", { fieldSelector: `metadata.name=${n}` });
      assert.deepEqual(
        all.items.map((o) => o.metadata.name),
        [n],
      );
      await client.delete(namespaces, "", n);
    });

    it("list with the empty namespace spans all namespaces", async () => {
      const app = uniqueName("conf-allns");
      await client.create(configmaps, NS, configMap(`${app}-0`, {}, { app }));
      const list = await client.list(configmaps, "", { labelSelector: `app=${app}` });
      assert.deepEqual(
        list.items.map((o) => [o.metadata.namespace, o.metadata.name]),
        [[NS, `${app}-0`]],
      );
    });

    it("get of a missing object is 404 NotFound with the API server's message", async () => {
      const n = uniqueName("conf-missing");
      await expectStatus(
        client.get(configmaps, NS, n),
        "NotFound",
        404,
        `configmaps "${n}" not found`,
      );
    });

    it("creating an existing name is 409 AlreadyExists", async () => {
      const n = uniqueName("conf-dup");
      await client.create(configmaps, NS, configMap(n, {}));
      await expectStatus(
        client.create(configmaps, NS, configMap(n, {})),
        "AlreadyExists",
        409,
        `configmaps "${n}" already exists`,
      );
    });

    it("update with the current resourceVersion succeeds and a stale one is 409 Conflict", async () => {
      const n = uniqueName("conf-update");
      const v1 = await client.create(configmaps, NS, configMap(n, { k: "1" }));
      const v2 = await client.update(configmaps, NS, { ...v1, data: { k: "2" } });
      assert.deepEqual(v2.data, { k: "2" });
      assert.notEqual(v2.metadata.resourceVersion, v1.metadata.resourceVersion);
      assert.equal(v2.metadata.uid, v1.metadata.uid);
      await expectStatus(
        client.update(configmaps, NS, { ...v1, data: { k: "3" } }),
        "Conflict",
        409,
        `Operation cannot be fulfilled on configmaps "${n}": the object has been modified; please apply your changes to the latest version and try again`,
      );
      assert.deepEqual((await client.get(configmaps, NS, n)).data, { k: "2" });
    });

    it("update of a missing object is 404 NotFound", async () => {
      const n = uniqueName("conf-upd-missing");
      await expectStatus(client.update(configmaps, NS, configMap(n, {})), "NotFound", 404);
    });

    it("list filters by label selector and carries a resourceVersion", async () => {
      const app = uniqueName("conf-list");
      for (const [i, tier] of ["a", "b", "c"].entries()) {
        await client.create(configmaps, NS, configMap(`${app}-${i}`, {}, { app, tier }));
      }
      const names = async (labelSelector: string) =>
        (await client.list(configmaps, NS, { labelSelector })).items
          .map((o) => o.metadata.name)
          .sort();
      assert.deepEqual(await names(`app=${app}`), [`${app}-0`, `${app}-1`, `${app}-2`]);
      assert.deepEqual(await names(`app=${app},tier=b`), [`${app}-1`]);
      assert.deepEqual(await names(`app=${app},tier in (a,c)`), [`${app}-0`, `${app}-2`]);
      assert.deepEqual(await names(`app=${app},tier!=a`), [`${app}-1`, `${app}-2`]);
      const list = await client.list(configmaps, NS, { labelSelector: `app=${app}` });
      assert.equal(list.kind, "ConfigMapList");
      assert.equal(list.apiVersion, "v1");
      assert.ok(list.metadata.resourceVersion, "list resourceVersion");
    });

    it("list pages with limit and continue", async () => {
      const app = uniqueName("conf-page");
      for (let i = 0; i < 5; i++)
        await client.create(configmaps, NS, configMap(`${app}-${i}`, {}, { app }));
      const seen: string[] = [];
      let cont: string | undefined;
      let pages = 0;
      do {
        const page = await client.list(configmaps, NS, {
          labelSelector: `app=${app}`,
          limit: 2,
          ...(cont ? { continue: cont } : {}),
        });
        assert.ok(page.items.length <= 2);
        seen.push(...page.items.map((o) => o.metadata.name ?? ""));
        cont = page.metadata.continue || undefined;
        pages++;
      } while (cont && pages < 10);
      assert.deepEqual(
        seen.sort(),
        [0, 1, 2, 3, 4].map((i) => `${app}-${i}`),
      );
      assert.equal(pages, 3);
    });

    it("watch delivers ADDED, MODIFIED, DELETED in order with growing resourceVersions", async () => {
      const n = uniqueName("conf-watch");
      const start = await client.list(configmaps, NS, { fieldSelector: `metadata.name=${n}` });
      const events = await collect(
        client,
        configmaps,
        { resourceVersion: start.metadata.resourceVersion, fieldSelector: `metadata.name=${n}` },
        async () => {
          const c = await client.create(configmaps, NS, configMap(n, { k: "1" }));
          await client.update(configmaps, NS, { ...c, data: { k: "2" } });
          await client.delete(configmaps, NS, n);
        },
        (es) => es.some((e) => e.type === "DELETED"),
      );
      assert.deepEqual(
        events.map((e) => [e.type, e.object.metadata.name]),
        [
          ["ADDED", n],
          ["MODIFIED", n],
          ["DELETED", n],
        ],
      );
      const rvs = events.map((e) => BigInt(e.object.metadata.resourceVersion ?? "0"));
      assert.ok(rvs[0]! < rvs[1]! && rvs[1]! < rvs[2]!, `resourceVersions grow: ${rvs.join(",")}`);
      assert.deepEqual(events[1]!.object.data, { k: "2" });
    });

    it("watch with a label selector sees only matching objects", async () => {
      const app = uniqueName("conf-wsel");
      const start = await client.list(configmaps, NS, { labelSelector: `app=${app}` });
      const events = await collect(
        client,
        configmaps,
        { resourceVersion: start.metadata.resourceVersion, labelSelector: `app=${app},pick=yes` },
        async () => {
          await client.create(configmaps, NS, configMap(`${app}-no`, {}, { app, pick: "no" }));
          await client.create(configmaps, NS, configMap(`${app}-yes`, {}, { app, pick: "yes" }));
        },
        (es) => es.length >= 1,
      );
      assert.deepEqual(
        events.map((e) => [e.type, e.object.metadata.name]),
        [["ADDED", `${app}-yes`]],
      );
    });

    it("merge patch sets and removes keys", async () => {
      const n = uniqueName("conf-merge");
      await client.create(configmaps, NS, configMap(n, { a: "1", b: "2" }));
      const out = await client.patch(configmaps, NS, n, "merge", { data: { a: null, c: "3" } });
      assert.deepEqual(out.data, { b: "2", c: "3" });
    });

    it("JSON patch applies operations in order", async () => {
      const n = uniqueName("conf-json");
      await client.create(configmaps, NS, configMap(n, { a: "1", b: "2" }));
      const out = await client.patch(configmaps, NS, n, "json", [
        { op: "replace", path: "/data/b", value: "x" },
        { op: "add", path: "/data/d", value: "4" },
        { op: "remove", path: "/data/a" },
      ]);
      assert.deepEqual(out.data, { b: "x", d: "4" });
    });

    it("strategic merge patch merges containers by name", async () => {
      const n = uniqueName("conf-smp");
      await client.create(deployments, NS, deployment(n));
      const out = await client.patch(deployments, NS, n, "strategic", {
        spec: { template: { spec: { containers: [{ name: "b", image: "example.invalid/b:1" }] } } },
      });
      const containers = (out.spec as { template: { spec: { containers: { name: string }[] } } })
        .template.spec.containers;
      assert.deepEqual(containers.map((c) => c.name).sort(), ["a", "b"]);
    });

    it("patch of a missing object is 404 NotFound and a stale resourceVersion is 409 Conflict", async () => {
      const n = uniqueName("conf-patch");
      await expectStatus(client.patch(configmaps, NS, n, "merge", { data: {} }), "NotFound", 404);
      const c = await client.create(configmaps, NS, configMap(n, { a: "1" }));
      await client.patch(configmaps, NS, n, "merge", { data: { a: "2" } });
      await expectStatus(
        client.patch(configmaps, NS, n, "merge", {
          metadata: { resourceVersion: c.metadata.resourceVersion },
          data: { a: "3" },
        }),
        "Conflict",
        409,
      );
    });

    it("the deployment status subresource changes only status; the main resource keeps status", async () => {
      const n = uniqueName("conf-status");
      const created = await client.create(deployments, NS, deployment(n));
      assert.equal(created.metadata.generation, 1);
      const status = { observedGeneration: 1, replicas: 1, updatedReplicas: 1 };
      const afterStatus = await client.update(deploymentStatus, NS, {
        ...created,
        spec: { ...(created.spec as object), replicas: 5 },
        status,
      });
      assert.equal((afterStatus.spec as { replicas: number }).replicas, 1, "spec ignored");
      const stored = afterStatus.status as Record<string, unknown>;
      for (const [k, v] of Object.entries(status)) assert.equal(stored[k], v, `status.${k}`);
      assert.equal(afterStatus.metadata.generation, 1, "status writes do not bump generation");
      const afterMain = await client.update(deployments, NS, {
        ...afterStatus,
        spec: { ...(afterStatus.spec as object), replicas: 2 },
        status: { observedGeneration: 7, replicas: 9 },
      });
      assert.equal((afterMain.spec as { replicas: number }).replicas, 2);
      assert.equal((afterMain.status as { replicas: number }).replicas, 1, "status ignored");
      assert.equal(afterMain.metadata.generation, 2, "spec change bumps generation");
    });

    it("delete returns the object or a Success Status, then get is NotFound", async () => {
      const n = uniqueName("conf-delete");
      await client.create(configmaps, NS, configMap(n, {}));
      const out = await client.delete(configmaps, NS, n);
      const asStatus = out as unknown as {
        kind?: string;
        status?: string;
        details?: { name?: string };
      };
      if (asStatus.kind === "Status") {
        assert.equal(asStatus.status, "Success");
        assert.equal(asStatus.details?.name, n);
      } else {
        assert.equal(out.metadata.name, n);
      }
      await expectStatus(client.get(configmaps, NS, n), "NotFound", 404);
      await expectStatus(client.delete(configmaps, NS, n), "NotFound", 404);
    });

    it("delete of an object with finalizers only marks it; clearing them removes it", async () => {
      const n = uniqueName("conf-final");
      const obj = configMap(n, {});
      obj.metadata = { ...obj.metadata, finalizers: ["example.com/hold"] };
      await client.create(configmaps, NS, obj);
      const out = await client.delete(configmaps, NS, n);
      assert.ok(out.metadata.deletionTimestamp, "deletionTimestamp set");
      const held = await client.get(configmaps, NS, n);
      assert.ok(held.metadata.deletionTimestamp);
      await client.patch(configmaps, NS, n, "merge", { metadata: { finalizers: null } });
      await expectStatus(client.get(configmaps, NS, n), "NotFound", 404);
    });

    it("deleteCollection removes the selected objects only", async () => {
      const app = uniqueName("conf-dc");
      await client.create(configmaps, NS, configMap(`${app}-x`, {}, { app, drop: "yes" }));
      await client.create(configmaps, NS, configMap(`${app}-y`, {}, { app, drop: "no" }));
      await client.deleteCollection(configmaps, NS, { labelSelector: `app=${app},drop=yes` });
      const left = await client.list(configmaps, NS, { labelSelector: `app=${app}` });
      assert.deepEqual(
        left.items.map((o) => o.metadata.name),
        [`${app}-y`],
      );
    });

    it("watch from a revision the server no longer keeps is an ERROR event with 410 Expired", async (t) => {
      if (!target.expireRevisions) {
        t.skip("target offers no way to expire revisions");
        return;
      }
      const n = uniqueName("conf-expired");
      const c = await client.create(configmaps, NS, configMap(n, { k: "1" }));
      await client.update(configmaps, NS, { ...c, data: { k: "2" } });
      await target.expireRevisions();
      const events = await collect(
        client,
        configmaps,
        { resourceVersion: c.metadata.resourceVersion! },
        async () => {},
        (es) => es.length >= 1,
      );
      const first = events[0]!;
      assert.equal(first.type, "ERROR");
      const status = first.object as unknown as { kind: string; code: number; reason: string };
      assert.equal(status.kind, "Status");
      assert.equal(status.code, 410);
      assert.ok(status.reason === "Expired" || status.reason === "Gone", status.reason);
    });
  });
}
