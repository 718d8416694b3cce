import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  createOpenApi,
  type OpenApiResource,
  stockGroupVersions,
  strictDecodingMessage,
} from "./index.ts";

const res = (
  group: string,
  kind: string,
  resource: string,
  namespaced: boolean,
  subresources: string[] = [],
): OpenApiResource => ({ group, version: "v1", kind, resource, namespaced, subresources });

const RESOURCES = [
  res("", "Pod", "pods", true, ["status", "log"]),
  res("", "Namespace", "namespaces", false, ["status"]),
  res("apps", "Deployment", "deployments", true, ["status", "scale"]),
  res("discovery.k8s.io", "EndpointSlice", "endpointslices", true),
  res("example.com", "Widget", "widgets", true),
];

type Doc = {
  paths: Record<string, Record<string, Record<string, unknown>>>;
  components: { schemas: Record<string, Record<string, unknown>> };
};

function doc(path: string): Doc {
  const d = createOpenApi(RESOURCES).document(path);
  assert.ok(d, `no document for ${path}`);
  return d as Doc;
}

describe("createOpenApi", () => {
  test("root lists every group-version with a hash URL", () => {
    const api = createOpenApi(RESOURCES);
    const root = api.root();
    assert.deepEqual(Object.keys(root.paths), [
      "api/v1",
      "apis/apps/v1",
      "apis/discovery.k8s.io/v1",
      "apis/example.com/v1",
    ]);
    assert.equal(
      root.paths["apis/apps/v1"]?.serverRelativeURL,
      `/openapi/v3/apis/apps/v1?hash=${api.hash("apis/apps/v1")}`,
    );
  });

  test("hash is stable for the same resources and changes when they change", () => {
    const a = createOpenApi(RESOURCES).hash("/apis/apps/v1");
    const b = createOpenApi(RESOURCES).hash("apis/apps/v1");
    const c = createOpenApi([...RESOURCES, res("apps", "ReplicaSet", "replicasets", true)]).hash(
      "apis/apps/v1",
    );
    assert.match(a ?? "", /^[0-9A-F]{128}$/);
    assert.equal(a, b);
    assert.notEqual(a, c);
  });

  test("an unknown group-version has no document", () => {
    const api = createOpenApi(RESOURCES);
    assert.equal(api.document("apis/batch/v1"), undefined);
    assert.equal(api.hash("apis/batch/v1"), undefined);
  });

  const patchPaths: [string, string, string, { group: string; version: string; kind: string }][] = [
    [
      "api/v1",
      "/api/v1/namespaces/{namespace}/pods/{name}",
      "patchCoreV1NamespacedPod",
      { group: "", version: "v1", kind: "Pod" },
    ],
    [
      "api/v1",
      "/api/v1/namespaces/{name}",
      "patchCoreV1Namespace",
      { group: "", version: "v1", kind: "Namespace" },
    ],
    [
      "apis/apps/v1",
      "/apis/apps/v1/namespaces/{namespace}/deployments/{name}",
      "patchAppsV1NamespacedDeployment",
      { group: "apps", version: "v1", kind: "Deployment" },
    ],
    [
      "apis/apps/v1",
      "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale",
      "patchAppsV1NamespacedDeploymentScale",
      { group: "autoscaling", version: "v1", kind: "Scale" },
    ],
    [
      "apis/discovery.k8s.io/v1",
      "/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices/{name}",
      "patchDiscoveryV1NamespacedEndpointSlice",
      { group: "discovery.k8s.io", version: "v1", kind: "EndpointSlice" },
    ],
  ];
  for (const [gv, path, operationId, gvk] of patchPaths) {
    test(`${operationId} carries its GVK and the fieldValidation parameter`, () => {
      const patch = doc(gv).paths[path]?.["patch"];
      assert.ok(patch, `no PATCH at ${path}`);
      assert.equal(patch["operationId"], operationId);
      assert.deepEqual(patch["x-kubernetes-group-version-kind"], gvk);
      const names = (patch["parameters"] as { name: string }[]).map((p) => p.name);
      assert.ok(names.includes("fieldValidation"));
      const content = (patch["requestBody"] as { content: Record<string, unknown> }).content;
      assert.ok("application/merge-patch+json" in content);
      assert.ok(!("application/strategic-merge-patch+json" in content));
    });
  }

  test("namespaced resources also get the all-namespaces list path", () => {
    const get = doc("api/v1").paths["/api/v1/pods"]?.["get"];
    assert.equal(get?.["operationId"], "listCoreV1PodForAllNamespaces");
  });

  test("components hold the kinds with their GVK and everything they reference", () => {
    const schemas = doc("apis/apps/v1").components.schemas;
    assert.deepEqual(
      schemas["io.k8s.api.apps.v1.Deployment"]?.["x-kubernetes-group-version-kind"],
      [{ group: "apps", kind: "Deployment", version: "v1" }],
    );
    for (const name of [
      "io.k8s.api.apps.v1.DeploymentList",
      "io.k8s.api.autoscaling.v1.Scale",
      "io.k8s.api.core.v1.PodSpec",
      "io.k8s.api.core.v1.Container",
      "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
      "io.k8s.apimachinery.pkg.apis.meta.v1.Status",
      "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
    ]) {
      assert.ok(schemas[name], `missing ${name}`);
    }
    assert.equal(schemas["io.k8s.api.apps.v1.StatefulSet"], undefined, "only what is referenced");
    const refs = JSON.stringify(doc("apis/apps/v1")).match(/#\/components\/schemas\/[^"]+/g) ?? [];
    for (const ref of refs) {
      assert.ok(schemas[ref.slice("#/components/schemas/".length)], `dangling ${ref}`);
    }
  });

  test("a kind without a generated schema gets a permissive one", () => {
    const schemas = doc("apis/example.com/v1").components.schemas;
    const widget = schemas["com.example.v1.Widget"];
    assert.ok(widget);
    assert.equal(widget["x-kubernetes-preserve-unknown-fields"], true);
    assert.deepEqual(widget["x-kubernetes-group-version-kind"], [
      { group: "example.com", version: "v1", kind: "Widget" },
    ]);
    assert.ok(schemas["com.example.v1.WidgetList"]);
  });

  test("respond serves the root, documents by hash, and redirects a stale hash", () => {
    const api = createOpenApi(RESOURCES);
    const root = api.respond("/openapi/v3", new URLSearchParams());
    assert.equal(root?.status, 200);
    assert.equal(root?.headers["content-type"], "application/json");
    assert.deepEqual(JSON.parse(String(root?.body ?? "")), api.root());
    const hash = api.hash("api/v1") ?? "";
    const fresh = api.respond("/openapi/v3/api/v1", new URLSearchParams({ hash }));
    assert.equal(fresh?.status, 200);
    assert.equal(fresh?.headers["cache-control"], "public, immutable");
    assert.equal(fresh?.body, api.documentJson("api/v1"));
    const stale = api.respond("/openapi/v3/api/v1", new URLSearchParams({ hash: "OLD" }));
    assert.equal(stale?.status, 301);
    assert.equal(stale?.headers["location"], `/openapi/v3/api/v1?hash=${hash}`);
    assert.equal(api.respond("/openapi/v3/apis/batch/v1", new URLSearchParams()), undefined);
    assert.equal(api.respond("/api/v1", new URLSearchParams()), undefined);
  });

  test("root lists only served group-versions, though schemas cover every stock one", () => {
    const api = createOpenApi(RESOURCES);
    assert.equal(api.root().paths["apis/batch/v1"], undefined);
    assert.equal(api.document("apis/batch/v1"), undefined);
    assert.ok(stockGroupVersions().includes("batch/v1"));
    assert.ok(api.decoder({ group: "batch", version: "v1", kind: "Job" }));
  });

  test("/openapi/v2 holds the served kinds' definitions, in JSON and protobuf", () => {
    const api = createOpenApi(RESOURCES);
    const json = api.respond("/openapi/v2", new URLSearchParams(), "application/json");
    assert.equal(json?.headers["content-type"], "application/json");
    const v2 = JSON.parse(String(json?.body)) as {
      swagger: string;
      definitions: Record<string, Record<string, unknown>>;
    };
    assert.equal(v2.swagger, "2.0");
    const pod = v2.definitions["io.k8s.api.core.v1.Pod"];
    assert.deepEqual(pod?.["x-kubernetes-group-version-kind"], [
      { group: "", kind: "Pod", version: "v1" },
    ]);
    const spec = (pod?.["properties"] as Record<string, Record<string, unknown>> | undefined)?.[
      "spec"
    ];
    assert.equal(spec?.["$ref"], "#/definitions/io.k8s.api.core.v1.PodSpec");
    assert.match(String(spec?.["description"]), /Specification of the desired behavior/);
    const intOrString = v2.definitions["io.k8s.apimachinery.pkg.util.intstr.IntOrString"];
    assert.equal(intOrString?.["type"], "string");
    assert.equal(intOrString?.["format"], "int-or-string");
    assert.equal(v2.definitions["io.k8s.api.batch.v1.Job"], undefined, "Job is not served");
    const pb = api.respond(
      "/openapi/v2",
      new URLSearchParams(),
      "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
    );
    assert.equal(
      pb?.headers["content-type"],
      "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
    );
    const bytes = Buffer.from(pb?.body as Uint8Array);
    // Document { swagger = 1: "2.0" } first, then every definition's name somewhere after.
    assert.deepEqual([...bytes.subarray(0, 5)], [0x0a, 3, 0x32, 0x2e, 0x30]);
    assert.ok(bytes.includes(Buffer.from("io.k8s.api.apps.v1.DeploymentSpec")));
  });

  test("knownFields lists a kind's top-level fields", () => {
    const api = createOpenApi(RESOURCES);
    assert.deepEqual(api.knownFields({ group: "apps", version: "v1", kind: "Deployment" }), [
      "apiVersion",
      "kind",
      "metadata",
      "spec",
      "status",
    ]);
    assert.deepEqual(api.knownFields({ group: "", version: "v1", kind: "ConfigMap" }), [
      "apiVersion",
      "binaryData",
      "data",
      "immutable",
      "kind",
      "metadata",
    ]);
    assert.equal(
      api.knownFields({ group: "example.com", version: "v1", kind: "Widget" }),
      undefined,
    );
  });
});

describe("unknownFields", () => {
  const api = createOpenApi(RESOURCES);
  const deployment = { group: "apps", version: "v1", kind: "Deployment" };
  const base = () => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: "web",
      labels: { "any/key": "v" },
      managedFields: [{ manager: "m", fieldsV1: { "f:spec": { "f:replicas": {} } } }],
    },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: "web" } },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: 1 } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: {
          containers: [
            {
              name: "web",
              image: "nginx",
              resources: { limits: { cpu: "1", memory: "1Gi" } },
              ports: [{ containerPort: 80 }],
            },
          ],
        },
      },
    },
  });

  const cases: [string, (d: ReturnType<typeof base>) => void, string[]][] = [
    ["a valid deployment (maps, Quantity, IntOrString, FieldsV1)", () => {}, []],
    ["an unknown spec field", (d) => Object.assign(d.spec, { foo: 1 }), ["spec.foo"]],
    [
      "fields named like Object.prototype members",
      (d) => {
        const spec = d.spec as Record<string, unknown>;
        spec["constructor"] = 1;
        Object.defineProperty(spec, "__proto__", { value: {}, enumerable: true });
        spec["toString"] = 2;
      },
      ["spec.constructor", "spec.__proto__", "spec.toString"],
    ],
    [
      "an unknown metadata field",
      (d) => Object.assign(d.metadata, { nmae: "x" }),
      ["metadata.nmae"],
    ],
    [
      "an unknown field in a list item",
      (d) => Object.assign(d.spec.template.spec.containers[0]!, { imagee: "x" }),
      ["spec.template.spec.containers[0].imagee"],
    ],
    [
      "a misplaced spec under template.metadata",
      (d) => Object.assign(d.spec.template.metadata, { spec: {} }),
      ["spec.template.metadata.spec"],
    ],
    [
      "several unknown fields in document order",
      (d) => {
        Object.assign(d, { extra: true });
        Object.assign(d.spec.strategy.rollingUpdate, { maxSurgee: 1 });
      },
      ["spec.strategy.rollingUpdate.maxSurgee", "extra"],
    ],
  ];
  for (const [what, mutate, expected] of cases) {
    test(`reports ${what}`, () => {
      const obj = base();
      mutate(obj);
      assert.deepEqual(api.unknownFields(obj, deployment), expected);
    });
  }

  test("does not descend into a ControllerRevision's free-form data", () => {
    const obj = {
      apiVersion: "apps/v1",
      kind: "ControllerRevision",
      revision: 1,
      data: { anything: { goes: 1 } },
    };
    assert.deepEqual(
      api.unknownFields(obj, { group: "apps", version: "v1", kind: "ControllerRevision" }),
      [],
    );
  });

  test("reports nothing for a kind without a schema", () => {
    assert.deepEqual(
      api.unknownFields(
        { spec: { x: 1 } },
        { group: "example.com", version: "v1", kind: "Widget" },
      ),
      [],
    );
  });

  test("strictDecodingMessage words it as kube-apiserver does", () => {
    assert.equal(
      strictDecodingMessage(deployment, ["spec.foo", "spec.bar"]),
      'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.foo", unknown field "spec.bar"',
    );
  });
});
