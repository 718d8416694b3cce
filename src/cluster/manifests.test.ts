import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ClusterError } from "./errors.ts";
import { parseManifests, readManifests, resourceFor } from "./manifests.ts";

describe("parseManifests", () => {
  test("reads every document, skips empty ones and expands a List", () => {
    const text = [
      "apiVersion: v1\nkind: Service\nmetadata: {name: a}",
      "",
      "# only a comment",
      "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n- {apiVersion: apps/v1, kind: Deployment, metadata: {name: c}}",
    ].join("\n---\n");
    assert.deepEqual(
      parseManifests(text, "x.yaml").map((m) => `${m.object.kind}/${m.object.metadata.name}`),
      ["Service/a", "ConfigMap/b", "Deployment/c"],
    );
  });

  const bad: Array<[string, string, RegExp]> = [
    ["broken YAML", "kind: [", /^manifest f\.yaml is not valid YAML: /],
    ["no kind", "apiVersion: v1\nmetadata: {name: a}", /without apiVersion or kind/],
    ["no name", "apiVersion: v1\nkind: Service\nmetadata: {}", /a Service without metadata\.name/],
    ["a scalar", "just text", /not a Kubernetes object/],
  ];
  for (const [what, text, message] of bad) {
    test(`rejects ${what} with a ClusterError naming the file`, () => {
      assert.throws(
        () => parseManifests(text, "f.yaml"),
        (e: unknown) => {
          assert.ok(e instanceof ClusterError);
          assert.match(e.message, message);
          return true;
        },
      );
    });
  }
});

describe("readManifests", () => {
  test("reads a folder's YAML and JSON files in name order and ignores the rest", () => {
    const dir = mkdtempSync(join(tmpdir(), "loopkube-manifests-"));
    try {
      writeFileSync(join(dir, "b.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n");
      writeFileSync(
        join(dir, "a.json"),
        '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}',
      );
      writeFileSync(join(dir, "README.md"), "# not a manifest\n");
      assert.deepEqual(
        readManifests([dir]).map((m) => m.object.metadata.name),
        ["a", "b"],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("says which path does not exist", () => {
    assert.throws(() => readManifests(["/nonexistent/x.yaml"]), {
      message: "manifest /nonexistent/x.yaml does not exist or cannot be read",
    });
  });
});

describe("resourceFor", () => {
  test("maps apiVersion and kind to the served resource", () => {
    assert.equal(
      resourceFor({ apiVersion: "apps/v1", kind: "StatefulSet", metadata: {} })?.resource,
      "statefulsets",
    );
    assert.equal(
      resourceFor({ apiVersion: "v1", kind: "Service", metadata: {} })?.resource,
      "services",
    );
    assert.equal(
      resourceFor({ apiVersion: "example.com/v1", kind: "Widget", metadata: {} }),
      undefined,
    );
  });
});
