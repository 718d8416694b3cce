import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { KubeObject } from "../../api/types.ts";
import { createOpenApi } from "../openapi/index.ts";
import { RESOURCES } from "../resources.ts";
import { type BodyJob, type BodyVerdict, runBodyJob } from "./_bodyjob.ts";

const openapi = createOpenApi(
  RESOURCES.map((r) => ({ ...r, subresources: r.subresources.map((s) => s.name) })),
);
const CM = { group: "", version: "v1", resource: "configmaps" };
const NS_KEY = "/core/namespaces/default";
const NAMESPACE: KubeObject = {
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name: "default", uid: "u-ns", resourceVersion: "1" },
  spec: { finalizers: ["kubernetes"] },
  status: { phase: "Active" },
};
const STORED: KubeObject = {
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: {
    name: "c",
    namespace: "default",
    uid: "u-c",
    resourceVersion: "7",
    creationTimestamp: "2024-01-01T00:00:00Z",
  },
  data: { a: "b" },
};

function job(over: Partial<BodyJob> & { text: string }): BodyJob {
  const { text, ...rest } = over;
  return {
    body: Buffer.from(text),
    contentType: "application/json",
    verb: "create",
    ref: CM,
    namespace: "default",
    options: {},
    snapshot: [[NS_KEY, NAMESPACE]],
    ...rest,
  };
}

function rejected(v: BodyVerdict): Extract<BodyVerdict, { ok: false }> {
  assert.equal(v.ok, false, JSON.stringify(v).slice(0, 300));
  return v as Extract<BodyVerdict, { ok: false }>;
}

describe("runBodyJob", () => {
  const refusals: Array<{
    name: string;
    job: BodyJob;
    code: number;
    reason: string;
    message: RegExp;
    reads: Array<[string, string | null]>;
  }> = [
    {
      name: "a body that does not parse, before anything is read",
      job: job({ text: "{", contentType: "application/json" }),
      code: 400,
      reason: "BadRequest",
      message: /^couldn't get version\/kind; json parse error/,
      reads: [],
    },
    {
      name: "YAML that does not parse",
      job: job({ text: "metadata: {", contentType: "application/yaml" }),
      code: 400,
      reason: "BadRequest",
      message: /^error converting YAML to JSON: yaml: /,
      reads: [],
    },
    {
      name: "a field of the wrong type",
      job: job({ text: '{"metadata":{"name":"c","labels":{"a":1}}}' }),
      code: 400,
      reason: "BadRequest",
      message: /cannot unmarshal number into Go struct field ObjectMeta.metadata.labels/,
      reads: [],
    },
    {
      name: "an unknown field under Strict",
      job: job({
        text: '{"metadata":{"name":"c"},"bogus":1}',
        options: { fieldValidation: "Strict" },
      }),
      code: 400,
      reason: "BadRequest",
      message: /strict decoding error: unknown field "bogus"/,
      reads: [],
    },
    {
      name: "an invalid object (data over 1 MiB), before the store is read",
      job: job({
        text: JSON.stringify({ metadata: { name: "c" }, data: { a: "x".repeat((1 << 20) + 1) } }),
      }),
      code: 422,
      reason: "Invalid",
      message: /Too long: may not be more than 1048576 bytes/,
      reads: [],
    },
    {
      name: "a valid object over etcd's limit, resting on the namespace and the name's absence",
      job: job({
        text: JSON.stringify({
          metadata: { name: "c", annotations: {} },
          data: Object.fromEntries(
            Array.from({ length: 8_000 }, (_, i) => [`${"k".repeat(200)}${i}`, "v"]),
          ),
        }),
      }),
      code: 500,
      reason: "",
      message: /^etcdserver: request is too large$/,
      reads: [
        [NS_KEY, "1"],
        ["/core/configmaps/default/c", null],
      ],
    },
    {
      name: "a create in a namespace that does not exist",
      job: job({ text: '{"metadata":{"name":"c"}}', snapshot: [] }),
      code: 404,
      reason: "NotFound",
      message: /namespaces "default" not found/,
      reads: [[NS_KEY, null]],
    },
    {
      name: "an update of an object that does not exist",
      job: job({ verb: "update", name: "c", text: '{"metadata":{"name":"c"}}' }),
      code: 404,
      reason: "NotFound",
      message: /configmaps "c" not found/,
      reads: [["/core/configmaps/default/c", null]],
    },
    {
      name: "a merge patch that makes the stored object invalid",
      job: job({
        verb: "patch",
        name: "c",
        contentType: "application/merge-patch+json",
        text: '{"data":{"bad key":"x"}}',
        snapshot: [["/core/configmaps/default/c", STORED]],
      }),
      code: 422,
      reason: "Invalid",
      message: /ConfigMap "c" is invalid: data\[bad key\]/,
      reads: [["/core/configmaps/default/c", "7"]],
    },
  ];
  for (const c of refusals) {
    test(`refuses ${c.name} with the Status the write answers`, () => {
      const v = rejected(runBodyJob(c.job, openapi));
      assert.equal(v.status.code, c.code);
      assert.equal(v.status.reason, c.reason);
      assert.match(v.status.message, c.message);
      assert.deepEqual(v.reads, c.reads);
    });
  }

  test("lets a valid create through with its decoded body and the unknown-field warnings", () => {
    const v = runBodyJob(
      job({ text: '{"metadata":{"name":"c"},"data":{"a":"b"},"bogus":1}' }),
      openapi,
    );
    assert.deepEqual(v, {
      ok: true,
      decoded: true,
      body: { metadata: { name: "c" }, data: { a: "b" } },
      warnings: ['unknown field "bogus"'],
    });
  });

  test("lets a valid patch through as parsed: the main thread applies it to what it holds", () => {
    const v = runBodyJob(
      job({
        verb: "patch",
        name: "c",
        contentType: "application/strategic-merge-patch+json",
        text: '{"data":{"c":"d"}}',
        snapshot: [["/core/configmaps/default/c", STORED]],
      }),
      openapi,
    );
    assert.deepEqual(v, { ok: true, decoded: false, body: { data: { c: "d" } }, warnings: [] });
  });

  test("a server-side apply that creates is checked as a create", () => {
    const apply = (data: string) =>
      runBodyJob(
        job({
          verb: "patch",
          name: "c",
          contentType: "application/apply-patch+yaml",
          text: `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata: ${data}\n`,
          options: { fieldManager: "m" },
        }),
        openapi,
      );
    assert.equal(apply("{a: b}").ok, true);
    const v = rejected(apply(`{a: ${"x".repeat((1 << 20) + 1)}}`));
    assert.equal(v.status.code, 422);
  });

  test("a dry-run request over etcd's limit is not refused: nothing would be written", () => {
    const text = JSON.stringify({
      metadata: { name: "c" },
      data: Object.fromEntries(
        Array.from({ length: 8_000 }, (_, i) => [`${"k".repeat(200)}${i}`, "v"]),
      ),
    });
    assert.equal(runBodyJob(job({ text, options: { dryRun: true } }), openapi).ok, true);
  });

  test("check: false only parses", () => {
    const v = runBodyJob(
      job({ text: '{"metadata":{"name":"c","labels":{"a":1}}}', check: false }),
      openapi,
    );
    assert.deepEqual(v, {
      ok: true,
      decoded: false,
      body: { metadata: { name: "c", labels: { a: 1 } } },
      warnings: [],
    });
  });

  test("the snapshot's objects are frozen: the dry run cannot change what it was given", () => {
    const snapshot: BodyJob["snapshot"] = [
      [NS_KEY, structuredClone(NAMESPACE)],
      ["/core/configmaps/default/c", structuredClone(STORED)],
    ];
    runBodyJob(
      job({
        verb: "update",
        name: "c",
        text: '{"metadata":{"name":"c"},"data":{"x":"y"}}',
        snapshot,
      }),
      openapi,
    );
    assert.deepEqual(snapshot[1]![1], STORED);
    assert.ok(Object.isFrozen(snapshot[1]![1].metadata));
  });
});
