import assert from "node:assert/strict";
import { test } from "node:test";
import { strategyFor } from "./kinds/index.ts";
import { buildRow, buildTable, parseIncludeObject } from "./table.ts";
import type { KubeObject } from "./types.ts";

const NOW = Date.parse("2026-01-01T00:10:00Z");
const cm: KubeObject = {
  metadata: {
    name: "cfg",
    namespace: "default",
    labels: { app: "web" },
    creationTimestamp: "2026-01-01T00:00:00Z",
    resourceVersion: "7",
  },
  data: { a: "1" },
};
const strategy = strategyFor("", "configmaps");

test("buildTable answers a meta.k8s.io/v1 Table with PartialObjectMetadata rows by default", () => {
  assert.ok(strategy);
  const table = buildTable(strategy, [cm], NOW, { resourceVersion: "42" });
  assert.equal(table.kind, "Table");
  assert.equal(table.apiVersion, "meta.k8s.io/v1");
  assert.deepEqual(table.metadata, { resourceVersion: "42" });
  assert.deepEqual(
    table.columnDefinitions?.map((c) => [c.name, c.type, c.format, c.priority]),
    [
      ["Name", "string", "name", 0],
      ["Data", "string", "", 0],
      ["Age", "string", "", 0],
    ],
  );
  assert.deepEqual(table.rows, [
    {
      cells: ["cfg", 1, "10m"],
      object: {
        kind: "PartialObjectMetadata",
        apiVersion: "meta.k8s.io/v1",
        metadata: cm.metadata,
      },
    },
  ]);
  assert.notEqual(table.rows[0]?.object?.metadata, cm.metadata, "row metadata is a copy");
});

test("buildTable honours includeObject, continue tokens and noHeaders", () => {
  assert.ok(strategy);
  const full = buildTable(strategy, [cm], NOW, {
    includeObject: "Object",
    continue: "abc",
    remainingItemCount: 3,
  });
  assert.deepEqual(full.metadata, { continue: "abc", remainingItemCount: 3 });
  assert.deepEqual(full.rows[0]?.object, { ...cm, kind: "ConfigMap", apiVersion: "v1" });
  const none = buildTable(strategy, [cm], NOW, { includeObject: "None", noHeaders: true });
  assert.equal(none.rows[0]?.object, null);
  assert.equal(none.columnDefinitions, null);
  const deploy = strategyFor("apps", "deployments");
  assert.ok(deploy);
  const obj = buildTable(deploy, [{ metadata: { name: "web" }, spec: {} }], NOW, {
    includeObject: "Object",
  }).rows[0]?.object;
  assert.equal(obj?.apiVersion, "apps/v1");
  assert.equal(obj?.kind, "Deployment");
});

test("buildRow carries row conditions for terminal pods", () => {
  const pods = strategyFor("", "pods");
  assert.ok(pods);
  const row = buildRow(
    pods,
    {
      metadata: { name: "job-x" },
      spec: { containers: [{ name: "a" }] },
      status: { phase: "Succeeded" },
    },
    { now: NOW },
  );
  assert.equal(row.conditions?.[0]?.reason, "Succeeded");
  assert.equal(row.cells.length, pods.columns.length);
});

test("parseIncludeObject accepts only kube's three values", () => {
  assert.equal(parseIncludeObject("Object"), "Object");
  assert.equal(parseIncludeObject("object"), undefined);
  assert.equal(parseIncludeObject(null), undefined);
});
