import assert from "node:assert/strict";
import { test } from "node:test";
import type { ConfigMap, Namespace, ServiceAccount } from "kubernetes-types/core/v1.js";
import { forbidden, StatusError } from "../../api/errors.ts";
import { reconcileRootCa, reconcileServiceAccounts, rootCaConfigMap } from "./reconcile.ts";

const CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const active: Namespace = { metadata: { name: "team" }, status: { phase: "Active" } };
const terminating: Namespace = {
  metadata: { name: "team", deletionTimestamp: "2025-01-01T00:00:00Z" },
  status: { phase: "Terminating" },
};

test("reconcileServiceAccounts creates default in an Active namespace only, and tolerates races", async () => {
  const cases: Array<{
    what: string;
    ns: Namespace | undefined;
    existing: boolean;
    fail?: StatusError;
    creates: number;
    throws?: boolean;
  }> = [
    { what: "new namespace", ns: active, existing: false, creates: 1 },
    { what: "already there", ns: active, existing: true, creates: 0 },
    { what: "terminating", ns: terminating, existing: false, creates: 0 },
    { what: "gone", ns: undefined, existing: false, creates: 0 },
    {
      what: "created meanwhile",
      ns: active,
      existing: false,
      fail: new StatusError(409, "AlreadyExists", 'serviceaccounts "default" already exists'),
      creates: 1,
    },
    {
      what: "namespace terminated meanwhile",
      ns: active,
      existing: false,
      fail: forbidden(
        "serviceaccounts is forbidden: unable to create new content in namespace team because it is being terminated",
      ),
      creates: 1,
    },
    {
      what: "API down",
      ns: active,
      existing: false,
      fail: new StatusError(503, "ServiceUnavailable", "down"),
      creates: 1,
      throws: true,
    },
  ];
  for (const c of cases) {
    const created: ServiceAccount[] = [];
    const run = reconcileServiceAccounts("team", {
      getNamespace: () => c.ns,
      getServiceAccount: () => (c.existing ? { metadata: { name: "default" } } : undefined),
      createServiceAccount: async (sa) => {
        created.push(sa);
        if (c.fail) throw c.fail;
      },
    });
    if (c.throws) await assert.rejects(run, c.what);
    else await run;
    assert.equal(created.length, c.creates, c.what);
    if (created[0]) assert.deepEqual(created[0].metadata, { name: "default", namespace: "team" });
  }
});

test("reconcileRootCa creates kube-root-ca.crt and puts its data and annotation back", async () => {
  const wanted = rootCaConfigMap("team", CA);
  assert.deepEqual(wanted.data, { "ca.crt": CA });
  assert.match(
    wanted.metadata?.annotations?.["kubernetes.io/description"] ?? "",
    /^Contains a CA bundle that can be used to verify the kube-apiserver/,
  );
  const cases: Array<{
    what: string;
    ns?: Namespace;
    cm: ConfigMap | undefined;
    create: number;
    update?: ConfigMap["data"];
  }> = [
    { what: "missing", cm: undefined, create: 1 },
    { what: "missing in a terminating namespace", ns: terminating, cm: undefined, create: 0 },
    { what: "as wanted", cm: wanted, create: 0 },
    {
      what: "data changed",
      cm: { ...wanted, data: { "ca.crt": "x", extra: "y" } },
      create: 0,
      update: { "ca.crt": CA },
    },
    {
      what: "annotation removed",
      cm: { ...wanted, metadata: { ...wanted.metadata, annotations: { keep: "me" } } },
      create: 0,
      update: { "ca.crt": CA },
    },
  ];
  for (const c of cases) {
    const creates: ConfigMap[] = [];
    const updates: ConfigMap[] = [];
    await reconcileRootCa("team", {
      rootCA: CA,
      getNamespace: () => c.ns ?? active,
      getConfigMap: () => c.cm,
      createConfigMap: async (cm) => {
        creates.push(cm);
      },
      updateConfigMap: async (cm) => {
        updates.push(cm);
      },
    });
    assert.equal(creates.length, c.create, c.what);
    if (creates[0]) assert.deepEqual(creates[0], wanted, c.what);
    assert.deepEqual(updates[0]?.data, c.update, c.what);
    if (updates[0]) {
      assert.equal(
        updates[0].metadata?.annotations?.["kubernetes.io/description"],
        wanted.metadata?.annotations?.["kubernetes.io/description"],
      );
      if (c.what === "annotation removed")
        assert.equal(updates[0].metadata?.annotations?.keep, "me");
    }
  }
});
