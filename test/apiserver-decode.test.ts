/**
 * Every written body goes through one typed decode (issue #14, item 4): a field of the wrong
 * type is kube's 400 decode error whatever the kind, verb or content type, never a stored object
 * that later answers 500; unknown fields (prototype names included) are dropped with kube's
 * `Warning` header, or refused under `fieldValidation=Strict`.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestApiServer, type TestApiServer } from "./_apiserver.ts";
import { type Reply, send, warnings } from "./_raw.ts";

const PODS = "/api/v1/namespaces/default/pods";
const CM = "/api/v1/namespaces/default/configmaps";

function pod(name: string, extra: { metadata?: object; spec?: object } = {}): object {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, ...extra.metadata },
    spec: { containers: [{ name: "c", image: "busybox" }], ...extra.spec },
  };
}

function assertStatus(r: Reply, code: number, reason: string, message?: RegExp | string): void {
  assert.equal(r.status, code, r.body);
  assert.equal(r.json?.["kind"], "Status", r.body);
  assert.equal(r.json?.["reason"], reason, r.body);
  if (message instanceof RegExp) assert.match(String(r.json?.["message"]), message);
  else if (message !== undefined) assert.equal(r.json?.["message"], message);
}

describe("typed decode of every write", () => {
  let api: TestApiServer;
  before(async () => {
    api = await startTestApiServer();
  });
  after(async () => {
    await api?.stop();
  });

  const wrongTypes: Array<{ name: string; body: object; message: string }> = [
    {
      name: "pod labels given as a list",
      body: pod("l1", { metadata: { labels: ["a", "b"] } }),
      message:
        'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal array into Go struct field ObjectMeta.metadata.labels of type map[string]string',
    },
    {
      name: "a pod label with a number value",
      body: pod("l2", { metadata: { labels: { a: 1 } } }),
      message:
        'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string',
    },
    {
      name: 'terminationGracePeriodSeconds "ten"',
      body: pod("g1", { spec: { terminationGracePeriodSeconds: "ten" } }),
      message:
        'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal string into Go struct field PodSpec.spec.terminationGracePeriodSeconds of type int64',
    },
    {
      name: "terminationGracePeriodSeconds 1.5",
      body: pod("g2", { spec: { terminationGracePeriodSeconds: 1.5 } }),
      message:
        'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal number 1.5 into Go struct field PodSpec.spec.terminationGracePeriodSeconds of type int64',
    },
    {
      name: "terminationGracePeriodSeconds 1e20 (beyond int64)",
      body: pod("g3", { spec: { terminationGracePeriodSeconds: 1e20 } }),
      message:
        'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal number 100000000000000000000 into Go struct field PodSpec.spec.terminationGracePeriodSeconds of type int64',
    },
    {
      name: "generateName given as a list",
      body: { metadata: { generateName: [] }, spec: { containers: [{ name: "c", image: "i" }] } },
      message:
        'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal array into Go struct field ObjectMeta.metadata.generateName of type string',
    },
    {
      name: "a container port given as a string",
      body: pod("p1", {
        spec: { containers: [{ name: "c", image: "i", ports: [{ containerPort: "80" }] }] },
      }),
      message:
        'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal string into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32',
    },
    {
      name: "a malformed resource quantity",
      body: pod("q1", {
        spec: { containers: [{ name: "c", image: "i", resources: { limits: { cpu: "lots" } } }] },
      }),
      message:
        "Pod in version \"v1\" cannot be handled as a Pod: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
    },
    {
      name: "a spec given as a string",
      body: { metadata: { name: "s1" }, spec: "x" },
      message:
        'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal string into Go struct field Pod.spec of type v1.PodSpec',
    },
  ];

  for (const c of wrongTypes) {
    test(`a create with ${c.name} answers 400 BadRequest and stores nothing`, async () => {
      const r = await send(api, "POST", PODS, JSON.stringify(c.body));
      assertStatus(r, 400, "BadRequest", c.message);
      const list = await send(api, "GET", PODS);
      assert.deepEqual(list.json?.["items"], []);
    });
  }

  test("the same wrong type sent as YAML answers the same 400", async () => {
    const yaml = "metadata:\n  name: y1\n  labels: [a, b]\nspec:\n  containers: []\n";
    const r = await send(api, "POST", PODS, yaml, {
      headers: { "Content-Type": "application/yaml" },
    });
    assertStatus(r, 400, "BadRequest", /cannot unmarshal array into Go struct field/);
  });

  test("a wrong type brought in by a merge patch, a strategic patch, an apply or a status PUT answers 400", async () => {
    assert.equal((await send(api, "POST", PODS, JSON.stringify(pod("w1")))).status, 201);
    const patches: Array<[string, string, object]> = [
      ["application/merge-patch+json", "", { spec: { terminationGracePeriodSeconds: "ten" } }],
      ["application/strategic-merge-patch+json", "", { metadata: { labels: { a: 1 } } }],
      ["application/json-patch+json", "", [{ op: "add", path: "/metadata/labels", value: ["x"] }]],
      ["application/apply-patch+yaml", "?fieldManager=t", pod("w1", { metadata: { labels: [1] } })],
      ["application/merge-patch+json", "/status", { status: { phase: 5 } }],
    ];
    for (const [type, suffix, body] of patches) {
      const path = `${PODS}/w1${suffix}`;
      const r = await send(api, "PATCH", path, JSON.stringify(body), {
        headers: { "Content-Type": type },
      });
      assertStatus(r, 400, "BadRequest", /cannot unmarshal/);
    }
    const live = await send(api, "GET", `${PODS}/w1`);
    const put = await send(
      api,
      "PUT",
      `${PODS}/w1/status`,
      JSON.stringify({ ...live.json, status: { conditions: "ready" } }),
    );
    assertStatus(put, 400, "BadRequest", /cannot unmarshal string into Go struct field/);
    const after = await send(api, "GET", `${PODS}/w1`);
    assert.equal(
      after.json?.["metadata"] &&
        (after.json["metadata"] as { resourceVersion: string }).resourceVersion,
      (live.json!["metadata"] as { resourceVersion: string }).resourceVersion,
    );
  });

  test("a scale with a string replica count answers 400", async () => {
    const deployment = {
      metadata: { name: "d1" },
      spec: {
        selector: { matchLabels: { app: "d1" } },
        template: {
          metadata: { labels: { app: "d1" } },
          spec: { containers: [{ name: "c", image: "i" }] },
        },
      },
    };
    const deployments = "/apis/apps/v1/namespaces/default/deployments";
    assert.equal((await send(api, "POST", deployments, JSON.stringify(deployment))).status, 201);
    const r = await send(
      api,
      "PUT",
      `${deployments}/d1/scale`,
      JSON.stringify({ metadata: { name: "d1" }, spec: { replicas: "3" } }),
    );
    assertStatus(
      r,
      400,
      "BadRequest",
      'Scale in version "v1" cannot be handled as a Scale: json: cannot unmarshal string into Go struct field ScaleSpec.spec.replicas of type int32',
    );
  });

  test("a negative terminationGracePeriodSeconds on a pod is stored as 1", async () => {
    const r = await send(
      api,
      "POST",
      PODS,
      JSON.stringify(pod("neg", { spec: { terminationGracePeriodSeconds: -5 } })),
    );
    assert.equal(r.status, 201, r.body);
    assert.equal(
      (r.json!["spec"] as { terminationGracePeriodSeconds: number }).terminationGracePeriodSeconds,
      1,
    );
  });

  test("a pod stored with a grace period of the wrong type (by an older version) can be deleted", async () => {
    const store = api.server.registry.ctx.store;
    store.create("/core/pods/default/old", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: "old",
        namespace: "default",
        uid: "u-old",
        creationTimestamp: "2024-01-01T00:00:00Z",
      },
      spec: {
        nodeName: "n1",
        terminationGracePeriodSeconds: "ten",
        containers: [{ name: "c", image: "i" }],
      },
      status: { phase: "Running" },
    } as never);
    const r = await send(api, "DELETE", `${PODS}/old`);
    assert.ok(r.status === 200 || r.status === 202, r.body);
  });

  for (const field of ["constructor", "__proto__", "toString"]) {
    test(`an unknown top-level field ${field} is dropped with a warning, and refused under Strict`, async () => {
      const name = `proto-${field.replace(/_/g, "u").toLowerCase()}`;
      const body = `{"metadata":{"name":"${name}"},"data":{"a":"b"},"${field}":{"polluted":true}}`;
      const r = await send(api, "POST", CM, body);
      assert.equal(r.status, 201, r.body);
      assert.deepEqual(warnings(r), [`unknown field "${field}"`]);
      assert.equal(Object.hasOwn(r.json!, field), false, r.body);
      const got = await send(api, "GET", `${CM}/${name}`);
      assert.equal(Object.hasOwn(got.json!, field), false, got.body);
      assert.equal(({} as Record<string, unknown>)["polluted"], undefined);

      const strict = await send(
        api,
        "POST",
        `${CM}?fieldValidation=Strict`,
        body.replace(name, `${name}-s`),
      );
      assertStatus(
        strict,
        400,
        "BadRequest",
        `ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "${field}"`,
      );
      const ignore = await send(
        api,
        "POST",
        `${CM}?fieldValidation=Ignore`,
        body.replace(name, `${name}-i`),
      );
      assert.equal(ignore.status, 201, ignore.body);
      assert.deepEqual(warnings(ignore), []);
    });
  }

  const PROTO_WRITES: Array<{ name: string; write: (api: TestApiServer) => Promise<Reply> }> = [
    {
      name: "a JSON create",
      write: (api) =>
        send(api, "POST", CM, '{"metadata":{"name":"pj"},"data":{"__proto__":"x","a":"b"}}'),
    },
    {
      name: "a YAML create",
      write: (api) =>
        send(api, "POST", CM, "metadata:\n  name: py\ndata:\n  __proto__: x\n  a: b\n", {
          headers: { "Content-Type": "application/yaml" },
        }),
    },
    {
      name: "an apply",
      write: (api) =>
        send(
          api,
          "PATCH",
          `${CM}/pa?fieldManager=m`,
          "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: pa\ndata:\n  __proto__: x\n  a: b\n",
          { headers: { "Content-Type": "application/apply-patch+yaml" } },
        ),
    },
    ...(["merge", "strategic-merge"] as const).map((type) => ({
      name: `a ${type} patch`,
      write: async (api: TestApiServer) => {
        const name = `p-${type}`;
        const created = await send(
          api,
          "POST",
          CM,
          JSON.stringify({ metadata: { name }, data: { a: "b" } }),
        );
        assert.equal(created.status, 201, created.body);
        return send(api, "PATCH", `${CM}/${name}`, '{"data":{"__proto__":"x"}}', {
          headers: { "Content-Type": `application/${type}-patch+json` },
        });
      },
    })),
    {
      name: "a JSON patch",
      write: async (api) => {
        const created = await send(api, "POST", CM, '{"metadata":{"name":"pjp"},"data":{"a":"b"}}');
        assert.equal(created.status, 201, created.body);
        return send(
          api,
          "PATCH",
          `${CM}/pjp`,
          '[{"op":"add","path":"/data/__proto__","value":"x"}]',
          { headers: { "Content-Type": "application/json-patch+json" } },
        );
      },
    },
    {
      name: "an update",
      write: async (api) => {
        const created = await send(api, "POST", CM, '{"metadata":{"name":"pu"},"data":{"a":"b"}}');
        assert.equal(created.status, 201, created.body);
        return send(
          api,
          "PUT",
          `${CM}/pu`,
          '{"metadata":{"name":"pu"},"data":{"__proto__":"x","a":"b"}}',
        );
      },
    },
  ];
  for (const c of PROTO_WRITES) {
    test(`a ConfigMap data key __proto__ (a valid key) written by ${c.name} is kept and read back`, async () => {
      const r = await c.write(api);
      assert.ok(r.status === 200 || r.status === 201, r.body);
      const name = (r.json!["metadata"] as { name: string }).name;
      for (const got of [r, await send(api, "GET", `${CM}/${name}`)]) {
        const data = got.json!["data"] as Record<string, unknown>;
        assert.equal(Object.hasOwn(data, "__proto__"), true, got.body);
        assert.equal(Object.getOwnPropertyDescriptor(data, "__proto__")?.value, "x", got.body);
      }
      const list = await send(api, "GET", CM);
      const item = (
        list.json!["items"] as Array<{ metadata: { name: string }; data: object }>
      ).find((i) => i.metadata.name === name);
      assert.equal(Object.hasOwn(item!.data, "__proto__"), true, list.body);
    });
  }

  test("kubectl creates a ConfigMap with a __proto__ key and reads it back", async (t) => {
    if (!(await kubectlAvailable(api))) return t.skip("kubectl is not installed");
    const r = await api.kubectl([
      "create",
      "configmap",
      "proto-kubectl",
      "--from-literal=__proto__=x",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const got = await api.kubectl([
      "get",
      "cm",
      "proto-kubectl",
      "-o",
      "jsonpath={.data.__proto__}",
    ]);
    assert.equal(got.stdout, "x");
  });

  test("kubectl prints the unknown-field warning and stores the object without the field", async (t) => {
    if (!(await kubectlAvailable(api))) return t.skip("kubectl is not installed");
    const manifest = JSON.stringify({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "from-kubectl" },
      data: { a: "b" },
      constructor: "x",
    });
    const r = await api.kubectl(["create", "--validate=warn", "-f", "-"], { input: manifest });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Warning: unknown field "constructor"/);
    const got = await api.kubectl(["get", "cm", "from-kubectl", "-o", "json"]);
    assert.equal(Object.hasOwn(JSON.parse(got.stdout) as object, "constructor"), false);
  });
});

async function kubectlAvailable(api: TestApiServer): Promise<boolean> {
  try {
    await api.kubectl(["version", "--client"]);
    return true;
  } catch {
    return false;
  }
}
