/**
 * `startCluster({ crds, crdPaths })` (envtest's CRDInstallOptions, issue #16): the CRDs are
 * Established when start returns, so a client can use their kinds at once; documents of other
 * kinds under `crdPaths` are skipped; a bad CRD fails the start with the API's message. And a
 * manifest holding a CRD after its custom resources applies in one go (CRDs first, waited for).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { REFS } from "../src/api/refs.ts";
import type { KubeObject } from "../src/api/types.ts";
import { type Cluster, startCluster } from "../src/cluster/index.ts";

const CRONTAB_CRD = join(import.meta.dirname, "fixtures", "crd", "crontab.yaml");

const crd = (plural: string, kind: string, group = "lib.example.com"): KubeObject => ({
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: `${plural}.${group}` },
  spec: {
    group,
    scope: "Namespaced",
    names: { plural, kind },
    versions: [
      {
        name: "v1",
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
        },
      },
    ],
  },
});

const opts = {
  runtime: "process",
  ephemeral: true,
  apiPort: 0,
  dnsPort: 0,
  updateKubeconfig: false,
} as const;

describe("startCluster with CRDs", () => {
  let c: Cluster;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "loopkube-crds-"));
    // A folder with a CRD and a ConfigMap: envtest installs the CRD and skips the rest.
    writeFileSync(
      join(dir, "gadget.yaml"),
      `apiVersion: v1
kind: ConfigMap
metadata: { name: not-installed }
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: gadgets.lib.example.com }
spec:
  group: lib.example.com
  scope: Cluster
  names: { plural: gadgets, kind: Gadget }
  versions:
    - name: v1
      served: true
      storage: true
      schema: { openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true } }
`,
    );
    c = await startCluster({
      ...opts,
      crds: [crd("widgets", "Widget")],
      crdPaths: [dir, CRONTAB_CRD],
    });
  });
  after(async () => {
    await c?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("every CRD is Established when start returns and its kind is usable at once", async () => {
    for (const name of [
      "widgets.lib.example.com",
      "gadgets.lib.example.com",
      "crontabs.stable.example.com",
    ]) {
      const got = (await c.client.get(REFS.customresourcedefinitions, "", name)) as KubeObject & {
        status?: { conditions?: Array<{ type: string; status: string }> };
      };
      assert.ok(
        got.status?.conditions?.some((x) => x.type === "Established" && x.status === "True"),
        `${name} Established`,
      );
    }
    const kc = new k8s.KubeConfig();
    kc.loadFromString(c.kubeconfig);
    const api = kc.makeApiClient(k8s.CustomObjectsApi);
    const made = await api.createNamespacedCustomObject({
      group: "stable.example.com",
      version: "v1",
      namespace: "default",
      plural: "crontabs",
      body: {
        apiVersion: "stable.example.com/v1",
        kind: "CronTab",
        metadata: { name: "nightly" },
        spec: { cronSpec: "0 0 * * *", image: "x" },
      },
    });
    assert.equal((made as { spec: { replicas: number } }).spec.replicas, 1, "schema default");
    await api.createClusterCustomObject({
      group: "lib.example.com",
      version: "v1",
      plural: "gadgets",
      body: { apiVersion: "lib.example.com/v1", kind: "Gadget", metadata: { name: "g" } },
    });
  });

  test("documents of other kinds under crdPaths are not installed", async () => {
    await assert.rejects(c.client.get(REFS.configmaps, "default", "not-installed"), {
      name: "StatusError",
    });
  });

  test("a manifest with custom resources before their CRD applies in one go", async () => {
    const file = join(dir, "app.yaml");
    writeFileSync(
      file,
      `apiVersion: shop.example.com/v1
kind: Order
metadata: { name: first, namespace: default }
spec: { items: 3 }
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: orders.shop.example.com }
spec:
  group: shop.example.com
  scope: Namespaced
  names: { plural: orders, kind: Order }
  versions:
    - name: v1
      served: true
      storage: true
      schema: { openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true } }
`,
    );
    const applied = await c.apply(file);
    assert.deepEqual(
      applied.map((o) => o.kind),
      ["CustomResourceDefinition", "Order"],
    );
    await c.waitReady(applied, { timeoutMs: 10_000 });
    const order = await c.client.get(
      { group: "shop.example.com", version: "v1", resource: "orders" },
      "default",
      "first",
    );
    assert.deepEqual(order.spec, { items: 3 });
  });
});

describe("startCluster with a bad CRD", () => {
  test("fails with the API's message for an invalid CRD", async () => {
    const bad = crd("things", "Thing");
    bad.metadata.name = "things.other.example.com";
    await assert.rejects(startCluster({ ...opts, crds: [bad] }), {
      name: "ClusterError",
      message:
        /CustomResourceDefinition(\.apiextensions\.k8s\.io)? "things\.other\.example\.com" is invalid: metadata\.name: Invalid value: "things\.other\.example\.com": must be spec\.names\.plural\+"\."\+spec\.group/,
    });
  });

  test("fails with the CRD's condition when its names are not accepted", async () => {
    await assert.rejects(
      startCluster({ ...opts, crds: [crd("widgets", "Widget"), crd("widgets2", "Widget")] }),
      {
        name: "ClusterError",
        message:
          /CustomResourceDefinition "widgets2\.lib\.example\.com" is not established: NameConflict: "widget" is already in use$/,
      },
    );
  });

  test("refuses an object that is not a CRD and a path that does not exist, before starting", async () => {
    await assert.rejects(
      startCluster({
        ...opts,
        crds: [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x" } }],
      }),
      {
        name: "ClusterError",
        message:
          /crds: ConfigMap "x" is not an apiextensions\.k8s\.io\/v1 CustomResourceDefinition/,
      },
    );
    await assert.rejects(
      startCluster({ ...opts, crdPaths: [join(tmpdir(), "no-such-crds-dir-x")] }),
      {
        name: "ClusterError",
        message: /does not exist/,
      },
    );
  });
});
