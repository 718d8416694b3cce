/**
 * CRD validation rules (`x-kubernetes-validations`, issue #16) end to end with the real kubectl:
 * rules that do not compile or cost too much are refused at CRD create with kube's messages;
 * custom resources are checked by rules at every schema level, with kube's message form,
 * `reason` mapped to the cause type, `fieldPath`, `messageExpression`, transition rules with
 * `oldSelf` (on update only) and `optionalOldSelf`.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { startTestApiServer, type TestApiServer } from "./_apiserver.ts";
import { NO_KUBECTL } from "./_kubectl.ts";

const WIDGET_CRD = join(import.meta.dirname, "fixtures", "crd", "widget-rules.yaml");
const GROUP = "cel.example.com";
const CERT_MANAGER = resolve(import.meta.dirname, "..", "..", "shared", "corpus", "cert-manager");
const NO_CORPUS = existsSync(CERT_MANAGER)
  ? false
  : "../shared/corpus is not beside the repository";

function crd(name: string, schema: string): string {
  return `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: ${name}s.${GROUP}
spec:
  group: ${GROUP}
  scope: Namespaced
  names: { plural: ${name}s, kind: ${name[0]?.toUpperCase()}${name.slice(1)} }
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: ${schema}
`;
}

function widget(name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: `${GROUP}/v1`,
    kind: "Widget",
    metadata: { name },
    spec: { replicas: 1, minReplicas: 1, ...spec },
  });
}

describe("CRD validation rules with kubectl", { skip: NO_KUBECTL }, () => {
  let api: TestApiServer;
  const kubectl = async (args: string[], input?: string) => {
    const r = await api.kubectl(args, input === undefined ? {} : { input });
    return { ...r, out: r.stdout + r.stderr };
  };
  const ok = async (args: string[], input?: string) => {
    const r = await kubectl(args, input);
    assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.out}`);
    return r.stdout;
  };
  const refused = async (args: string[], input?: string) => {
    const r = await kubectl(args, input);
    assert.notEqual(r.code, 0, `kubectl ${args.join(" ")} should fail: ${r.out}`);
    return r.stderr;
  };

  before(async () => {
    api = await startTestApiServer();
    await ok(["apply", "-f", WIDGET_CRD]);
    await ok(["wait", "--for=condition=Established", `crd/widgets.${GROUP}`, "--timeout=20s"]);
  });
  after(async () => {
    await api?.stop();
  });

  test("a rule that does not compile is refused at CRD create with cel-go's message", async () => {
    const err = await refused(
      ["create", "-f", "-"],
      crd(
        "broken",
        `{ type: object, properties: { spec: { type: object, properties: { a: { type: integer } }, x-kubernetes-validations: [ { rule: "self.b > 0" } ] } } }`,
      ),
    );
    assert.match(
      err,
      /The CustomResourceDefinition "brokens\.cel\.example\.com" is invalid: spec\.validation\.openAPIV3Schema\.properties\[spec\]\.x-kubernetes-validations\[0\]\.rule: Invalid value: apiextensions\.ValidationRule\{Rule:"self\.b > 0", Message:"", MessageExpression:"", Reason:\(\*apiextensions\.FieldValueErrorReason\)\(nil\), FieldPath:"", OptionalOldSelf:\(\*bool\)\(nil\)\}: compilation failed: ERROR: <input>:1:5: undefined field 'b'/,
    );
  });

  test("a rule that is not a bool, a bad reason and a bad fieldPath are refused", async () => {
    const err = await refused(
      ["create", "-f", "-"],
      crd(
        "typed",
        `{ type: object, properties: { spec: { type: object, properties: { a: { type: integer } }, x-kubernetes-validations: [ { rule: "self.a" }, { rule: "true", reason: Bogus }, { rule: "true", fieldPath: ".nope" } ] } } }`,
      ),
    );
    assert.match(
      err,
      /x-kubernetes-validations\[1\]\.reason: Unsupported value: "Bogus": supported values: "FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired"/,
    );
    assert.match(
      err,
      /x-kubernetes-validations\[2\]\.fieldPath: Invalid value: "\.nope": fieldPath must be a valid path/,
    );
    const typed = await refused(
      ["create", "-f", "-"],
      crd(
        "typed",
        `{ type: object, properties: { spec: { type: object, properties: { a: { type: integer } }, x-kubernetes-validations: [ { rule: "self.a" } ] } } }`,
      ),
    );
    assert.match(
      typed,
      /x-kubernetes-validations\[0\]\.rule: Invalid value: apiextensions\.ValidationRule\{Rule:"self\.a".*\}: cel expression must evaluate to a bool/,
    );
  });

  test("a rule over unbounded lists is refused for its estimated cost", async () => {
    const err = await refused(
      ["create", "-f", "-"],
      crd(
        "costly",
        `{ type: object, properties: { spec: { type: object, properties: { xs: { type: array, items: { type: string } } }, x-kubernetes-validations: [ { rule: "self.xs.all(a, self.xs.all(b, a == b))" } ] } } }`,
      ),
    );
    assert.match(
      err,
      /spec\.validation\.openAPIV3Schema\.properties\[spec\]\.x-kubernetes-validations\[0\]\.rule: Forbidden: estimated rule cost exceeds budget by factor of more than 100x \(try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared\)/,
    );
    assert.match(
      err,
      /x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema exceeds budget by factor of more than 100x/,
    );
  });

  test("oldSelf under a list that is not a map list is refused", async () => {
    const err = await refused(
      ["create", "-f", "-"],
      crd(
        "uncorrelated",
        `{ type: object, properties: { spec: { type: object, properties: { xs: { type: array, maxItems: 4, items: { type: string, maxLength: 4, x-kubernetes-validations: [ { rule: "self == oldSelf" } ] } } } } } }`,
      ),
    );
    assert.match(
      err,
      /properties\[xs\]\.items\.x-kubernetes-validations\[0\]\.rule: Invalid value: "self == oldSelf": oldSelf cannot be used on the uncorrelatable portion of the schema within spec\.validation\.openAPIV3Schema\.properties\[spec\]\.properties\[xs\]/,
    );
  });

  test("a valid widget is accepted", async () => {
    await ok(
      ["create", "-f", "-"],
      widget("good", {
        host: "a.example",
        memory: "512Mi",
        mode: "fast",
        ports: [{ name: "http", port: 8080 }],
        labels: { a: "b" },
        tags: ["x", "y"],
      }),
    );
  });

  test("scalar, object, list item, map value and root rules fail with kube's messages", async () => {
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      [
        "r1",
        { replicas: 11, minReplicas: 1 },
        /The Widget "r1" is invalid: spec\.replicas: Invalid value: "integer": must be at most 10/,
      ],
      [
        "r2",
        { replicas: 2, minReplicas: 3 },
        /The Widget "r2" is invalid: spec: Invalid value: "object": replicas should be greater than or equal to minReplicas/,
      ],
      [
        "r3",
        { host: "UPPER" },
        /The Widget "r3" is invalid: spec\.host: Forbidden: host must be lower-case letters and dots/,
      ],
      [
        "r4",
        { memory: "2Gi" },
        /The Widget "r4" is invalid: spec: Invalid value: "object": memory 2Gi is not below 1Gi/,
      ],
      [
        "r5",
        {
          ports: [
            { name: "a", port: 2000 },
            { name: "b", port: 80 },
          ],
        },
        /The Widget "r5" is invalid: spec\.ports\[1\]: Forbidden: privileged ports are not allowed/,
      ],
      [
        "r6",
        { labels: { ok: "x", empty: "" } },
        /The Widget "r6" is invalid: spec\.labels\[empty\]: Required value: label values may not be empty/,
      ],
      [
        "r7",
        { tags: ["a", "a"] },
        /The Widget "r7" is invalid: spec\.tags: Duplicate value: "array"/,
      ],
      [
        "bad-name",
        {},
        /The Widget "bad-name" is invalid: <nil>: Invalid value: "object": name must not start with bad-/,
      ],
    ];
    for (const [name, spec, want] of cases) {
      const err = await refused(["create", "-f", "-"], widget(name, spec));
      assert.match(err, want, `${name}: ${err}`);
    }
  });

  test("a schema error skips the rules with kube's note", async () => {
    const err = await refused(["create", "-f", "-"], widget("r8", { ports: [{ port: 80 }] }));
    assert.match(err, /spec\.ports\[0\]\.name: Required value/);
    assert.match(
      err,
      /<nil>: Invalid value: "null": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation/,
    );
  });

  test("transition rules run on update only; optionalOldSelf runs on create too", async () => {
    await ok(["create", "-f", "-"], widget("t1", { mode: "fast", generation: 3 }));
    const err = await refused(["apply", "-f", "-"], widget("t1", { mode: "slow", generation: 3 }));
    assert.match(err, /spec\.mode: Invalid value: "string": mode is immutable/);
    const down = await refused(["apply", "-f", "-"], widget("t1", { mode: "fast", generation: 2 }));
    assert.match(down, /spec\.generation: Invalid value: "integer": generation may not go down/);
    await ok(["apply", "-f", "-"], widget("t1", { mode: "fast", generation: 4 }));
  });

  test("the Status causes carry the rule's reason as their type (client-node)", async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromString(api.kubeconfig);
    const client = kc.makeApiClient(k8s.CustomObjectsApi);
    const body = JSON.parse(widget("c1", { host: "UPPER", replicas: 12 }));
    const err = await client
      .createNamespacedCustomObject({
        group: GROUP,
        version: "v1",
        namespace: "default",
        plural: "widgets",
        body,
      })
      .then(
        () => undefined,
        (e: unknown) => e as { code?: number; body?: string },
      );
    assert.equal(err?.code, 422);
    const status = JSON.parse(String(err?.body));
    const causes = (status.details.causes as Array<{ reason: string; field: string }>).map(
      (c) => `${c.reason} ${c.field}`,
    );
    assert.deepEqual(causes.sort(), [
      "FieldValueForbidden spec.host",
      "FieldValueInvalid spec.replicas",
    ]);
  });

  test("cert-manager's Issuer CRD applies and its venafi rule refuses two providers", {
    skip: NO_CORPUS,
  }, async () => {
    await ok(["apply", "--server-side", "-f", join(CERT_MANAGER, "cert-manager.io_issuers.yaml")]);
    await ok([
      "wait",
      "--for=condition=Established",
      "crd/issuers.cert-manager.io",
      "--timeout=20s",
    ]);
    const issuer = (name: string, venafi: Record<string, unknown>) =>
      JSON.stringify({
        apiVersion: "cert-manager.io/v1",
        kind: "Issuer",
        metadata: { name },
        spec: { venafi: { zone: "z", ...venafi } },
      });
    const tpp = { url: "https://tpp.example.com/vedsdk", credentialsRef: { name: "tpp" } };
    const cloud = { apiTokenSecretRef: { name: "cloud" } };
    await ok(["create", "-f", "-"], issuer("one", { tpp }));
    const err = await refused(["create", "-f", "-"], issuer("two", { tpp, cloud }));
    assert.match(
      err,
      /The Issuer "two" is invalid: spec\.venafi: Invalid value: "object": exactly one of tpp, cloud, or ngts must be configured/,
    );
    const none = await refused(["create", "-f", "-"], issuer("none", {}));
    assert.match(
      none,
      /spec\.venafi: Invalid value: "object": exactly one of tpp, cloud, or ngts must be configured/,
    );
  });
});
