/**
 * CRD schema behaviour end to end (issue #16) with the real kubectl and @kubernetes/client-node:
 * server-side apply of a map list by two field managers (merged by key, conflicts per key),
 * kube's deprecation Warning for a deprecated version, `format` and `oneOf` errors in kube's
 * words, each version validated by its own schema, duplicate set items, and the structural
 * schema check refusing a type under `oneOf`.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { waitFor } from "../src/_testing/index.ts";
import { kubectlFor, startTestApiServer, type TestApiServer } from "./_apiserver.ts";
import { NO_KUBECTL } from "./_kubectl.ts";

const GROUP = "schema.example.com";

const SPEC_SCHEMA = (maxReplicas: number) => `
            spec:
              type: object
              oneOf:
                - required: [image]
                - required: [command]
              properties:
                image: { type: string }
                command: { type: string }
                replicas: { type: integer, maximum: ${maxReplicas} }
                id: { type: string, format: uuid }
                when: { type: string, format: date-time }
                size: { type: string, format: int32 }
                tags:
                  type: array
                  x-kubernetes-list-type: set
                  items: { type: string }
                ports:
                  type: array
                  x-kubernetes-list-type: map
                  x-kubernetes-list-map-keys: [name]
                  items:
                    type: object
                    required: [name]
                    properties:
                      name: { type: string }
                      port: { type: integer }`;

const CRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: jobs.${GROUP}
spec:
  group: ${GROUP}
  scope: Namespaced
  names: { plural: jobs, singular: job, kind: Job }
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:${SPEC_SCHEMA(5)}
    - name: v1alpha1
      served: true
      storage: false
      deprecated: true
      schema:
        openAPIV3Schema:
          type: object
          properties:${SPEC_SCHEMA(50)}
`;

function job(name: string, spec: string, version = "v1"): string {
  return `apiVersion: ${GROUP}/${version}
kind: Job
metadata:
  name: ${name}
spec:
${spec
  .trim()
  .split("\n")
  .map((l) => `  ${l}`)
  .join("\n")}
`;
}

describe("CRD schemas with kubectl", { skip: NO_KUBECTL }, () => {
  let api: TestApiServer;
  const { kubectl, ok } = kubectlFor(() => api);
  const refused = async (args: string[], input: string) => {
    const r = await kubectl(args, input);
    assert.notEqual(r.code, 0, `kubectl ${args.join(" ")} succeeded: ${r.out}`);
    return r.out;
  };

  before(async () => {
    api = await startTestApiServer();
    await ok(["apply", "-f", "-"], CRD);
    await ok(["wait", "--for=condition=Established", `crd/jobs.${GROUP}`, "--timeout=20s"]);
  });
  after(async () => {
    await api?.stop();
  });

  test("two field managers apply a map list by key; a change to the other's entry conflicts", async () => {
    const applyAs = (manager: string, ports: string, extra: string[] = []) =>
      kubectl(
        ["apply", "--server-side", `--field-manager=${manager}`, ...extra, "-f", "-"],
        job("merged", `image: busybox\nports:\n${ports}`),
      );
    let r = await applyAs("alice", "  - { name: http, port: 80 }");
    assert.equal(r.code, 0, r.out);
    r = await applyAs("bob", "  - { name: metrics, port: 9090 }");
    assert.equal(r.code, 0, r.out);
    const ports = JSON.parse(
      (await ok(["get", `jobs.${GROUP}`, "merged", "-o", "jsonpath={.spec.ports}"])).stdout,
    );
    assert.deepEqual(ports, [
      { name: "http", port: 80 },
      { name: "metrics", port: 9090 },
    ]);
    r = await applyAs("bob", "  - { name: metrics, port: 9090 }\n  - { name: http, port: 8080 }");
    assert.notEqual(r.code, 0);
    assert.match(
      r.out,
      /Apply failed with 1 conflict: conflict with "alice": \.spec\.ports\[name="http"\]\.port/,
    );
    // bob dropping his entry removes it and leaves alice's.
    r = await applyAs("bob", "  - { name: http }");
    assert.equal(r.code, 0, r.out);
    const after = JSON.parse(
      (await ok(["get", `jobs.${GROUP}`, "merged", "-o", "jsonpath={.spec.ports}"])).stdout,
    );
    assert.deepEqual(after, [{ name: "http", port: 80 }]);
  });

  test("a deprecated version answers every request with kube's Warning", async () => {
    await ok(["apply", "-f", "-"], job("old", "image: busybox", "v1alpha1"));
    const r = await ok(["get", `jobs.v1alpha1.${GROUP}`, "old"]);
    assert.match(
      r.stderr,
      new RegExp(`Warning: ${GROUP}/v1alpha1 Job is deprecated; use ${GROUP}/v1 Job`),
    );
    const current = await ok(["get", `jobs.v1.${GROUP}`, "old"]);
    assert.doesNotMatch(current.stderr, /deprecated/);
  });

  test("formats and oneOf are refused with kube's messages; unknown formats are ignored", async () => {
    let out = await refused(
      ["apply", "-f", "-"],
      job("bad-id", "image: busybox\nid: not-a-uuid\nsize: not-an-int"),
    );
    assert.match(
      out,
      /The Job "bad-id" is invalid: spec\.id: Invalid value: "not-a-uuid": spec\.id in body must be of type uuid: "not-a-uuid"/,
    );
    out = await refused(["apply", "-f", "-"], job("both", "image: busybox\ncommand: run"));
    assert.match(
      out,
      /<nil>: Invalid value: "": "spec" must validate one and only one schema \(oneOf\)\. Found 2 valid alternatives/,
    );
    await ok(
      ["apply", "-f", "-"],
      job(
        "good",
        "command: run\nid: 7e0a3c3e-4b4f-4d7e-9a61-1b2c3d4e5f60\nwhen: 2026-01-02T03:04:05Z\nsize: x",
      ),
    );
  });

  test("each version is validated by its own schema", async () => {
    await ok(["apply", "-f", "-"], job("wide", "image: busybox\nreplicas: 20", "v1alpha1"));
    const out = await refused(["apply", "-f", "-"], job("narrow", "image: busybox\nreplicas: 20"));
    assert.match(
      out,
      /spec\.replicas: Invalid value: 20: spec\.replicas in body should be less than or equal to 5/,
    );
  });
});

describe("CRD schemas with @kubernetes/client-node", () => {
  let api: TestApiServer;
  let custom: k8s.CustomObjectsApi;
  let ext: k8s.ApiextensionsV1Api;

  before(async () => {
    api = await startTestApiServer();
    const kc = new k8s.KubeConfig();
    kc.loadFromString(api.kubeconfig);
    custom = kc.makeApiClient(k8s.CustomObjectsApi);
    ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  });
  after(async () => {
    await api?.stop();
  });

  const crd = (name: string, spec: Record<string, unknown>) => ({
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${name}s.${GROUP}` },
    spec: {
      group: GROUP,
      scope: "Namespaced",
      names: { plural: `${name}s`, kind: name[0]!.toUpperCase() + name.slice(1) },
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: { type: "object", properties: { spec: { type: "object", ...spec } } },
          },
        },
      ],
    },
  });
  const statusOf = (e: unknown) =>
    JSON.parse(String((e as { body?: unknown }).body)) as {
      message: string;
      details?: { causes?: Array<{ reason: string; field: string; message: string }> };
    };

  test("a CRD with a type under oneOf is refused by the structural schema check", async () => {
    const body = crd("shape", {
      properties: { a: { type: "string" } },
      oneOf: [{ type: "string" }, { required: ["a"] }],
    });
    const e = await ext.createCustomResourceDefinition({ body }).then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.ok(e, "the CRD was accepted");
    assert.match(
      statusOf(e).message,
      /spec\.validation\.openAPIV3Schema\.properties\[spec\]\.oneOf\[0\]\.type: Forbidden: must be empty to be structural/,
    );
  });

  test("repeated items of a set list are kube's Duplicate value", async () => {
    await ext.createCustomResourceDefinition({
      body: crd("bag", {
        properties: {
          tags: { type: "array", x_kubernetes_list_type: "set", items: { type: "string" } },
        },
      }),
    });
    await waitFor(
      async () => {
        const got = await ext.readCustomResourceDefinition({ name: `bags.${GROUP}` });
        return got.status?.conditions?.some((c) => c.type === "Established" && c.status === "True");
      },
      { what: "the Bag CRD to be Established" },
    );
    const ref = { group: GROUP, version: "v1", namespace: "default", plural: "bags" };
    const body = (tags: string[]) => ({
      apiVersion: `${GROUP}/v1`,
      kind: "Bag",
      metadata: { name: "b" },
      spec: { tags },
    });
    const e = await custom
      .createNamespacedCustomObject({ ...ref, body: body(["a", "b", "a"]) })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    assert.ok(e, "the object was accepted");
    assert.deepEqual(statusOf(e).details?.causes, [
      { reason: "FieldValueDuplicate", field: "spec.tags[2]", message: 'Duplicate value: "a"' },
    ]);
    await custom.createNamespacedCustomObject({ ...ref, body: body(["a", "b"]) });
  });
});
