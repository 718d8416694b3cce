import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { isStatusError } from "../../api/errors.ts";
import type { Fixture } from "./_testing/capture.ts";
import { bField, entry, kubeBody, vField } from "./_testing/encode.ts";
import {
  decodeKubeProtobuf,
  decodeKubeProtobufReport,
  isProtobufContentType,
  PROTOBUF_CONTENT_TYPE,
  registeredKinds,
} from "./index.ts";

const FIXTURES = join(import.meta.dirname, "fixtures");

function readFixtures(dir: string): [string, Fixture][] {
  return readdirSync(join(FIXTURES, dir))
    .filter((f) => f.endsWith(".json"))
    .map((f) => [f, JSON.parse(readFileSync(join(FIXTURES, dir, f), "utf8")) as Fixture]);
}

/**
 * Commands kubectl cannot render with --dry-run=client: the JSON Go prints for the object their
 * flags build. `create token sa --audience=api --duration=10m`: a TokenRequest whose status is a
 * non-omitempty token and a zero Time.
 */
const WITHOUT_DRY_RUN: Record<string, unknown> = {
  "token.json": {
    kind: "TokenRequest",
    apiVersion: "authentication.k8s.io/v1",
    metadata: { creationTimestamp: null },
    spec: { audiences: ["api"], expirationSeconds: 600 },
    status: { token: "", expirationTimestamp: null },
  },
  // `auth can-i get pods -n team-a`: allowed has no omitempty.
  "auth-can-i.json": {
    kind: "SelfSubjectAccessReview",
    apiVersion: "authorization.k8s.io/v1",
    metadata: { creationTimestamp: null },
    spec: { resourceAttributes: { namespace: "team-a", verb: "get", resource: "pods" } },
    status: { allowed: false },
  },
  // `auth whoami`: an empty review; its status and userInfo are non-pointer structs.
  "auth-whoami.json": {
    kind: "SelfSubjectReview",
    apiVersion: "authentication.k8s.io/v1",
    metadata: { creationTimestamp: null },
    status: { userInfo: {} },
  },
};

describe("decodeKubeProtobuf on bodies captured from the real kubectl", () => {
  for (const version of ["kubectl.1.32", "kubectl.1.33"]) {
    const fixtures = readFixtures(version);
    it(`${version} has fixtures for the generator commands`, () => {
      assert.ok(fixtures.length >= 25, `only ${fixtures.length} fixtures`);
    });
    for (const [file, fx] of fixtures) {
      const want = fx.dryRunJson ?? WITHOUT_DRY_RUN[file];
      const source = fx.dryRunJson ? "its --dry-run=client JSON" : "the object its flags describe";
      it(`${version} \`kubectl ${fx.argv.join(" ")}\` decodes to ${source}`, () => {
        assert.equal(fx.contentType, PROTOBUF_CONTENT_TYPE, file);
        assert.ok(want, `${file} has neither a dry-run rendering nor an expectation here`);
        const got = decodeKubeProtobufReport(Buffer.from(fx.body, "base64"));
        assert.deepEqual(got.object, want);
        assert.deepEqual(got.unknownFields, []);
      });
    }
  }
});

describe("decodeKubeProtobuf on Kubernetes' v1.33.0 serialization fixtures (every field set)", () => {
  const dir = join(FIXTURES, "upstream-v1.33.0");
  const names = readdirSync(dir).filter((f) => f.endsWith(".pb"));
  it("covers every registered kind", () => {
    for (const { apiVersion, kind } of registeredKinds()) {
      const file = `${apiVersion.includes("/") ? apiVersion.replace("/", ".") : `core.${apiVersion}`}.${kind}.pb`;
      assert.ok(names.includes(file), file);
    }
  });
  for (const pb of names) {
    it(`${pb} equals the JSON Go prints for the same object`, () => {
      const want = JSON.parse(readFileSync(join(dir, pb.replace(/\.pb$/, ".json")), "utf8"));
      const got = decodeKubeProtobufReport(readFileSync(join(dir, pb)));
      assert.deepEqual(got.object, want);
      assert.deepEqual(got.unknownFields, []);
    });
  }
});

describe("which kubectl versions send protobuf (fixtures/encodings.json)", () => {
  const enc = JSON.parse(readFileSync(join(FIXTURES, "encodings.json"), "utf8")) as Record<
    string,
    Record<string, string>
  >;
  const generators = [
    "namespace",
    "deployment",
    "configmap",
    "secret-generic",
    "service-nodeport",
    "serviceaccount",
    "job",
    "cronjob",
    "quota",
    "token",
    "autoscale",
    "poddisruptionbudget",
    "ingress",
    "priorityclass",
    "role",
    "clusterrolebinding",
    "auth-can-i",
    "auth-whoami",
  ];
  const jsonAlways = ["run", "expose-deployment", "create-file", "apply-file"];
  for (const v of ["kubectl.1.32", "kubectl.1.33"]) {
    it(`${v} sends protobuf for typed-client creates and JSON for run, expose, create -f, apply`, () => {
      for (const c of generators) assert.equal(enc[v]?.[c], PROTOBUF_CONTENT_TYPE, c);
      for (const c of jsonAlways) assert.equal(enc[v]?.[c], "application/json", c);
    });
  }
  it("kubectl 1.31 sends JSON for every command", () => {
    const row = enc["kubectl.1.31"] ?? {};
    for (const c of [...generators, ...jsonAlways]) assert.equal(row[c], "application/json", c);
  });
});

const META = bField(1, [bField(1, "x")]);

describe("decodeKubeProtobuf errors", () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ["an empty body", new Uint8Array(), /^empty data$/],
    [
      "a body without the magic",
      new TextEncoder().encode('{"kind":"Pod"}'),
      /does not appear to be a protobuf message, expected prefix \[107 56 115 0\]/,
    ],
    ["the magic alone", Uint8Array.from([0x6b, 0x38, 0x73, 0x00]), /^empty body$/],
    [
      "a kind the decoder does not know",
      kubeBody("v1", "Foo", [META]),
      /^no kind "Foo" is registered for version "v1"$/,
    ],
    [
      "a known kind in another version",
      kubeBody("apps/v1beta2", "Deployment", [META]),
      /no kind "Deployment" is registered for version "apps\/v1beta2"/,
    ],
    ["an envelope without a kind", kubeBody("v1", "", [META]), /Object 'Kind' is missing/],
    ["a truncated body", kubeBody("v1", "Namespace", [META]).subarray(0, 20), /unexpected EOF/],
    [
      "a wire type that does not fit the field",
      kubeBody("v1", "Namespace", [bField(1, [vField(1, 3)])]),
      /wrong wireType = 0 for field name/,
    ],
  ];
  for (const [name, body, message] of cases) {
    it(`answers 400 BadRequest for ${name}`, () => {
      assert.throws(
        () => decodeKubeProtobuf(body),
        (e) => isStatusError(e, "BadRequest") && e.code === 400 && message.test(e.message),
      );
    });
  }

  it("words a decoding error as the create handler does when the URL's kind is given", () => {
    const body = kubeBody("v1", "Namespace", [META]).subarray(0, 20);
    assert.throws(
      () => decodeKubeProtobuf(body, { expected: { apiVersion: "v1", kind: "Namespace" } }),
      {
        message: 'Namespace in version "v1" cannot be handled as a Namespace: unexpected EOF',
      },
    );
  });
});

describe("decodeKubeProtobuf", () => {
  it("sets apiVersion and kind from the envelope", () => {
    const obj = decodeKubeProtobuf(kubeBody("v1", "Namespace", [META]));
    assert.deepEqual(obj, { kind: "Namespace", apiVersion: "v1", metadata: { name: "x" } });
  });

  it("takes apiVersion and kind from the request URL when the envelope leaves them empty", () => {
    const obj = decodeKubeProtobuf(kubeBody("", "", [META]), {
      expected: { apiVersion: "v1", kind: "ConfigMap" },
    });
    assert.equal(obj.kind, "ConfigMap");
    assert.equal(obj.apiVersion, "v1");
  });

  it("skips and reports fields it does not describe, at their JSON path", () => {
    const container = [bField(1, "c"), bField(2, "busybox"), vField(99, 1)];
    const podSpec = [bField(2, container), bField(2, [bField(1, "d"), bField(77, "?")])];
    const body = kubeBody("v1", "Pod", [META, bField(2, podSpec), vField(42, 7)]);
    const got = decodeKubeProtobufReport(body);
    assert.deepEqual(got.unknownFields, [
      { path: "spec.containers[0]", field: 99 },
      { path: "spec.containers[1]", field: 77 },
      { path: "", field: 42 },
    ]);
    const spec = got.object["spec"] as { containers: { name: string }[] };
    assert.deepEqual(
      spec.containers.map((c) => c.name),
      ["c", "d"],
    );
  });

  it("keeps a pointer field set to zero and drops an omitempty zero", () => {
    // DeploymentSpec: replicas (1) is *int32, minReadySeconds (5) is int32 with omitempty.
    const body = kubeBody("apps/v1", "Deployment", [META, bField(2, [vField(1, 0), vField(5, 0)])]);
    const spec = decodeKubeProtobuf(body)["spec"];
    assert.deepEqual(spec, { replicas: 0 });
  });

  it("prints Secret data as base64 and keeps a label named __proto__ as a plain key", () => {
    const meta = bField(1, [bField(1, "s"), entry(11, "__proto__", "v")]);
    const body = kubeBody("v1", "Secret", [meta, entry(2, "k", Uint8Array.from([0xff, 0x00]))]);
    const obj = decodeKubeProtobuf(body);
    assert.deepEqual(obj["data"], { k: "/wA=" });
    assert.equal(Object.getPrototypeOf(obj.metadata.labels), Object.prototype);
    assert.deepEqual(Object.entries(obj.metadata.labels ?? {}), [["__proto__", "v"]]);
  });

  it("lists the kinds it can decode", () => {
    const kinds = registeredKinds().map((k) => `${k.apiVersion} ${k.kind}`);
    for (const k of ["v1 Pod", "v1 Service", "apps/v1 Deployment", "batch/v1 CronJob"]) {
      assert.ok(kinds.includes(k), k);
    }
  });
});

describe("isProtobufContentType", () => {
  const cases: [string, boolean][] = [
    ["application/vnd.kubernetes.protobuf", true],
    ["application/vnd.kubernetes.protobuf; charset=utf-8", true],
    ["Application/VND.Kubernetes.Protobuf", true],
    ["application/json", false],
    ["", false],
  ];
  for (const [ct, want] of cases)
    it(`${JSON.stringify(ct)} → ${want}`, () => assert.equal(isProtobufContentType(ct), want));
});
