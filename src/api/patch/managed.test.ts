import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { KubeObject } from "../types.ts";
import {
  decodePath,
  displayPath,
  encodePath,
  fieldPE,
  fromFieldsV1,
  keyPE,
  toFieldsV1,
  valuePE,
} from "./_fieldpath.ts";
import { decodeManagedFields, describeManager, recordUpdate } from "./managed.ts";

const CM = { group: "", kind: "ConfigMap" };
const T0 = new Date("2026-01-01T00:00:00Z");
const T1 = new Date("2026-01-01T01:00:00Z");

function cm(data: Record<string, string>): KubeObject {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", uid: "u" }, data };
}

describe("field paths", () => {
  it("display as structured-merge-diff prints them", () => {
    const path = [
      fieldPE("spec"),
      fieldPE("ports"),
      keyPE({ protocol: "TCP", port: 80 }),
      fieldPE("name"),
    ];
    assert.equal(displayPath(path), '.spec.ports[port=80,protocol="TCP"].name');
    assert.equal(
      displayPath([fieldPE("metadata"), fieldPE("finalizers"), valuePE("x")]),
      '.metadata.finalizers[="x"]',
    );
    assert.deepEqual(decodePath(encodePath(path)), path);
  });

  it("round-trip through fieldsV1 with '.' on members that have children", () => {
    const set = new Set([
      encodePath([fieldPE("a"), keyPE({ name: "x" })]),
      encodePath([fieldPE("a"), keyPE({ name: "x" }), fieldPE("image")]),
      encodePath([fieldPE("b")]),
    ]);
    const v1 = toFieldsV1(set);
    assert.deepEqual(v1, { "f:a": { 'k:{"name":"x"}': { ".": {}, "f:image": {} } }, "f:b": {} });
    assert.deepEqual(fromFieldsV1(v1), set);
  });
});

describe("recordUpdate", () => {
  it("gives the creator every field it set", () => {
    const out = recordUpdate(undefined, cm({ a: "1" }), {
      manager: "kubectl-create",
      kind: CM,
      now: () => T0,
    });
    assert.deepEqual(out.metadata.managedFields, [
      {
        manager: "kubectl-create",
        operation: "Update",
        apiVersion: "v1",
        time: "2026-01-01T00:00:00Z",
        fieldsType: "FieldsV1",
        fieldsV1: { "f:data": { "f:a": {} } },
      },
    ]);
  });

  it("moves changed fields to the writer and drops removed ones everywhere", () => {
    const created = recordUpdate(undefined, cm({ a: "1", b: "2" }), {
      manager: "creator",
      kind: CM,
      now: () => T0,
    });
    const next = { ...created, data: { a: "9", c: "3" } };
    const out = recordUpdate(created, next, { manager: "editor", kind: CM, now: () => T1 });
    const byManager = Object.fromEntries(
      decodeManagedFields(out.metadata.managedFields).map((m) => [m.manager, toFieldsV1(m.set)]),
    );
    // creator's set became empty (b removed, a taken) so its entry is gone.
    assert.deepEqual(byManager, { editor: { "f:data": { "f:a": {}, "f:c": {} } } });
  });

  it("leaves managedFields alone when nothing changed", () => {
    const created = recordUpdate(undefined, cm({ a: "1" }), {
      manager: "creator",
      kind: CM,
      now: () => T0,
    });
    const out = recordUpdate(created, structuredClone(created), {
      manager: "other",
      kind: CM,
      now: () => T1,
    });
    assert.deepEqual(out.metadata.managedFields, created.metadata.managedFields);
  });

  it("never fails on a stored object whose list element lacks its key", () => {
    const pod: KubeObject = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p" },
      spec: { containers: [{ image: "x" }] },
    };
    const out = recordUpdate(undefined, pod, {
      manager: "m",
      kind: { group: "", kind: "Pod" },
      now: () => T0,
    });
    assert.equal(out.metadata.managedFields, undefined);
  });

  it("describes managers as kube's conflict messages do", () => {
    assert.equal(
      describeManager({ manager: "k", operation: "Apply", apiVersion: "v1", set: new Set() }),
      '"k"',
    );
    assert.equal(
      describeManager({
        manager: "k",
        operation: "Update",
        apiVersion: "apps/v1",
        subresource: "status",
        set: new Set(),
      }),
      '"k" with subresource "status" using apps/v1',
    );
  });
});
