/**
 * Bodies that are big, deep or expensive to parse get kube's answer and never a 500 from a
 * crash (issue #14, item 2): the 3 MiB body limit, the 1.5 MiB object limit (etcd's), nesting
 * limits, YAML aliases, YAML flow collections parsed in linear time.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestApiServer, type TestApiServer } from "./_apiserver.ts";
import { type Reply, send, warnings } from "./_raw.ts";

const CM = "/api/v1/namespaces/default/configmaps";
const PODS = "/api/v1/namespaces/default/pods";
const REVISIONS = "/apis/apps/v1/namespaces/default/controllerrevisions";
const YAML = { headers: { "Content-Type": "application/yaml" } };

function nested(levels: number): unknown {
  let v: unknown = "leaf";
  for (let i = 0; i < levels; i++) v = { a: v };
  return v;
}

function assertStatus(r: Reply, code: number, reason: string, message?: RegExp | string): void {
  assert.equal(r.status, code, r.body.slice(0, 500));
  assert.equal(r.json?.["kind"], "Status", r.body.slice(0, 500));
  assert.equal(r.json?.["reason"], reason === "" ? undefined : reason, r.body.slice(0, 500));
  if (message instanceof RegExp) assert.match(String(r.json?.["message"]), message);
  else if (message !== undefined) assert.equal(r.json?.["message"], message);
}

describe("request limits", () => {
  let api: TestApiServer;
  before(async () => {
    api = await startTestApiServer();
  });
  after(async () => {
    await api?.stop();
  });

  test("a YAML flow mapping of 50,000 keys (640 KB) is stored whole", async () => {
    const pairs: string[] = [];
    for (let i = 0; i < 50_000; i++) pairs.push(`k${i}: v${i}`);
    const body = `metadata:\n  name: flow\ndata: {${pairs.join(", ")}}\n`;
    const r = await send(api, "POST", CM, body, YAML);
    assert.equal(r.status, 201, r.body.slice(0, 300));
    assert.equal(Object.keys(r.json!["data"] as object).length, 50_000);
  });

  test("a body over 3 MiB answers kube's 413", async () => {
    const body = JSON.stringify({ metadata: { name: "big" }, data: { a: "x".repeat(3 << 20) } });
    const r = await send(api, "POST", CM, body);
    assertStatus(r, 413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728");
  });

  test("a pod with 200,000 labels (2.6 MB) is refused as etcd refuses it, and nothing is stored", async () => {
    const labels: Record<string, string> = {};
    for (let i = 0; i < 200_000; i++) labels[`l${i}`] = "v";
    const body = JSON.stringify({
      metadata: { name: "labelled", labels },
      spec: { containers: [{ name: "c", image: "i" }] },
    });
    const r = await send(api, "POST", PODS, body);
    assertStatus(r, 500, "", "etcdserver: request is too large");
    assert.equal((await send(api, "GET", `${PODS}/labelled`)).status, 404);
  });

  test("a patch that grows an object past 1.5 MiB is refused and leaves it as it was", async () => {
    const big = {
      metadata: { name: "grow" },
      spec: {
        containers: [
          { name: "c", image: "i", env: [{ name: "A", value: "x".repeat(1400 << 10) }] },
        ],
      },
    };
    assert.equal((await send(api, "POST", PODS, JSON.stringify(big))).status, 201);
    const labels: Record<string, string> = {};
    for (let i = 0; i < 2000; i++) labels[`label-${i}`] = "v".repeat(60);
    const r = await send(api, "PATCH", `${PODS}/grow`, JSON.stringify({ metadata: { labels } }), {
      headers: { "Content-Type": "application/merge-patch+json" },
    });
    assertStatus(r, 500, "", "etcdserver: request is too large");
    const live = await send(api, "GET", `${PODS}/grow`);
    assert.equal((live.json!["metadata"] as { labels?: object }).labels, undefined);
  });

  test("JSON nested deeper than kube's decoder allows (10,000) answers 400", async () => {
    const r = await send(
      api,
      "POST",
      CM,
      `{"metadata":{"name":"deep"},"x":${"[".repeat(10_001)}${"]".repeat(10_001)}}`,
    );
    assertStatus(
      r,
      400,
      "BadRequest",
      "couldn't get version/kind; json parse error: exceeded max depth",
    );
  });

  test("a 4,000-level unknown field is dropped with a warning, as kube drops it", async () => {
    const r = await send(
      api,
      "POST",
      CM,
      JSON.stringify({ metadata: { name: "deep-unknown" }, x: nested(4000) }),
    );
    assert.equal(r.status, 201, r.body.slice(0, 300));
    assert.deepEqual(warnings(r), ['unknown field "x"']);
  });

  test("a 4,000-level value in a free-form field answers 400, not 500", async () => {
    const r = await send(
      api,
      "POST",
      REVISIONS,
      JSON.stringify({ metadata: { name: "deep-rev" }, revision: 1, data: nested(4000) }),
    );
    assertStatus(
      r,
      400,
      "BadRequest",
      /ControllerRevision in version "v1" cannot be handled as a ControllerRevision: exceeded max depth of 500/,
    );
  });

  test("a free-form value just within the depth limit is stored, patched, listed and deleted", async () => {
    const create = await send(
      api,
      "POST",
      `${REVISIONS}?fieldManager=t`,
      JSON.stringify({ metadata: { name: "deep-ok" }, revision: 1, data: nested(498) }),
    );
    assert.equal(create.status, 201, create.body.slice(0, 300));
    const patch = await send(
      api,
      "PATCH",
      `${REVISIONS}/deep-ok?fieldManager=u`,
      JSON.stringify({ metadata: { labels: { a: "b" } } }),
      { headers: { "Content-Type": "application/strategic-merge-patch+json" } },
    );
    assert.equal(patch.status, 200, patch.body.slice(0, 300));
    assert.equal((await send(api, "GET", REVISIONS)).status, 200);
    assert.equal((await send(api, "DELETE", `${REVISIONS}/deep-ok`)).status, 200);
  });

  test("a 4,000-level merge patch answers 400, not 500", async () => {
    assert.equal(
      (await send(api, "POST", CM, JSON.stringify({ metadata: { name: "p-deep" } }))).status,
      201,
    );
    const r = await send(api, "PATCH", `${CM}/p-deep`, JSON.stringify({ data: nested(4000) }), {
      headers: { "Content-Type": "application/merge-patch+json" },
    });
    assertStatus(r, 400, "BadRequest", "the patch nests deeper than 500 levels");
  });

  test("YAML nested 5,000 levels answers 400, not 500", async () => {
    const body = `metadata:\n  name: ydeep\nx: ${"[".repeat(5000)}${"]".repeat(5000)}\n`;
    const r = await send(api, "POST", CM, body, YAML);
    assertStatus(r, 400, "BadRequest", /error converting YAML to JSON: yaml: .*max.*depth/i);
  });

  test("YAML aliases that expand past the body's size answer 400 (billion laughs)", async () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const cur = String.fromCharCode(97 + i);
      lines.push(`${cur}: &${cur} [${Array(10).fill(`*${prev}`).join(",")}]`);
    }
    const body = `metadata:\n  name: laughs\n${lines.join("\n")}\n`;
    const r = await send(api, "POST", CM, body, YAML);
    assertStatus(
      r,
      400,
      "BadRequest",
      "error converting YAML to JSON: yaml: document contains excessive aliasing",
    );
  });

  test("a YAML alias used within bounds is a copy, not a shared object", async () => {
    const body =
      "metadata:\n  name: aliased\n  labels: &l {app: web}\n  annotations: *l\ndata: {a: b}\n";
    const r = await send(api, "POST", CM, body, YAML);
    assert.equal(r.status, 201, r.body);
    const meta = r.json!["metadata"] as { labels: object; annotations: object };
    assert.deepEqual(meta.labels, { app: "web" });
    assert.deepEqual(meta.annotations, { app: "web" });
  });
});
