import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { KubeObject } from "../../api/types.ts";
import { openStore } from "../../store/index.ts";
import { createRegistry } from "../index.ts";
import { ensurePki } from "../pki.ts";
import type { Registry } from "../registry/index.ts";

// biome-ignore lint/suspicious/noExplicitAny: reviews are free-form JSON
type Review = { request: any };
type Answer = (review: Review) => Record<string, unknown>;

let server: Server;
let port = 0;
let caBundle = "";
let dir = "";
const handlers = new Map<string, Answer>();
const seen: Array<{ path: string; review: Review }> = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "loopkube-webhooks-"));
  const pki = await ensurePki(join(dir, "pki"), { clusterName: "t", hosts: ["127.0.0.1"] });
  caBundle = Buffer.from(pki.caCert).toString("base64");
  server = createServer({ cert: pki.serverCert, key: pki.serverKey }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const path = (req.url ?? "").split("?")[0] ?? "";
      const review = JSON.parse(Buffer.concat(chunks).toString()) as Review;
      seen.push({ path, review });
      const response = handlers.get(path)?.(review) ?? { allowed: true };
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          apiVersion: "admission.k8s.io/v1",
          kind: "AdmissionReview",
          response: { uid: review.request.uid, ...response },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});

after(() => {
  server.closeAllConnections();
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

const patch = (ops: unknown[]) => ({
  allowed: true,
  patchType: "JSONPatch",
  patch: Buffer.from(JSON.stringify(ops)).toString("base64"),
});

function hook(name: string, path: string, rules: unknown[], extra: object = {}) {
  return {
    name,
    clientConfig: { url: `https://127.0.0.1:${port}${path}`, caBundle },
    rules,
    sideEffects: "None",
    admissionReviewVersions: ["v1"],
    ...extra,
  };
}

const MWC = {
  group: "admissionregistration.k8s.io",
  version: "v1",
  resource: "mutatingwebhookconfigurations",
};
const VWC = {
  group: "admissionregistration.k8s.io",
  version: "v1",
  resource: "validatingwebhookconfigurations",
};
const PODS = { group: "", version: "v1", resource: "pods" };
const CMS = { group: "", version: "v1", resource: "configmaps" };

function freshRegistry(): Registry {
  return createRegistry(openStore({ backend: "memory" })).registry;
}

async function configure(registry: Registry, ref: typeof MWC, name: string, webhooks: unknown[]) {
  await registry.create(ref, "", { metadata: { name }, webhooks } as unknown as KubeObject);
}

const pod = (name: string): KubeObject => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name },
  spec: { containers: [{ name: "c", image: "busybox" }] },
});

test("reinvocationPolicy IfNeeded calls a webhook again after a later webhook changed the object", async () => {
  const registry = freshRegistry();
  const calls: string[] = [];
  handlers.set("/first", (r) => {
    calls.push(
      `first:${Object.keys(r.request.object.metadata.labels ?? {})
        .sort()
        .join(",")}`,
    );
    return { allowed: true };
  });
  handlers.set("/second", () => {
    calls.push("second");
    return patch([{ op: "add", path: "/metadata/labels", value: { second: "yes" } }]);
  });
  const rules = [
    { operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"] },
  ];
  await configure(registry, MWC, "a", [
    hook("first.example.com", "/first", rules, { reinvocationPolicy: "IfNeeded" }),
  ]);
  await configure(registry, MWC, "b", [hook("second.example.com", "/second", rules)]);
  const created = await registry.create(PODS, "default", pod("p1"));
  assert.deepEqual(calls, ["first:", "second", "first:second"]);
  assert.equal(created.metadata.labels?.second, "yes");
});

test("validating webhooks see the object as stored: uid and generated name", async () => {
  const registry = freshRegistry();
  const rules = [
    { operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["configmaps"] },
  ];
  let sawObject: KubeObject | undefined;
  let sawName = "";
  handlers.set("/v-uid", (r) => {
    sawObject = r.request.object;
    sawName = r.request.name;
    return { allowed: true };
  });
  await configure(registry, VWC, "v", [hook("uid.example.com", "/v-uid", rules)]);
  const created = await registry.create(CMS, "default", {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { generateName: "gen-" },
  } as KubeObject);
  assert.ok(sawObject);
  assert.equal(sawObject.metadata.uid, created.metadata.uid);
  assert.equal(sawObject.metadata.name, created.metadata.name);
  assert.equal(sawName, created.metadata.name);
});

test("a status write reaches a `pods/status` webhook and a dry run says so and stores nothing", async () => {
  const registry = freshRegistry();
  const rules = [
    { operations: ["UPDATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods/status"] },
  ];
  handlers.set("/status", (r) =>
    r.request.object.status?.phase === "Failed"
      ? { allowed: false, status: { message: "no failing" } }
      : { allowed: true },
  );
  await registry.create(PODS, "default", pod("s1"));
  await configure(registry, VWC, "s", [hook("status.example.com", "/status", rules)]);
  const before = seen.length;
  const current = await registry.get(PODS, "default", "s1");
  await assert.rejects(
    registry.update({ ...PODS, subresource: "status" }, "default", {
      ...current,
      status: { phase: "Failed" },
    }),
    /admission webhook "status.example.com" denied the request: no failing/,
  );
  const dry = await registry.update(
    { ...PODS, subresource: "status" },
    "default",
    { ...current, status: { phase: "Running" } },
    { dryRun: true },
  );
  assert.equal((dry.status as { phase: string }).phase, "Running");
  const last = seen.at(-1)?.review.request;
  assert.equal(last.subResource, "status");
  assert.equal(last.dryRun, true);
  assert.equal(last.operation, "UPDATE");
  assert.equal(last.oldObject.metadata.name, "s1");
  assert.equal(seen.length - before, 2);
  const stored = await registry.get(PODS, "default", "s1");
  assert.notEqual((stored.status as { phase?: string } | undefined)?.phase, "Running");
});

test("a DELETE is sent with the stored object as oldObject and can be refused", async () => {
  const registry = freshRegistry();
  const rules = [
    { operations: ["DELETE"], apiGroups: [""], apiVersions: ["v1"], resources: ["configmaps"] },
  ];
  handlers.set("/del", (r) =>
    r.request.oldObject.metadata.labels?.keep === "yes"
      ? { allowed: false, status: { code: 403, reason: "Forbidden", message: "kept" } }
      : { allowed: true },
  );
  await configure(registry, VWC, "d", [hook("del.example.com", "/del", rules)]);
  await registry.create(CMS, "default", {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "k", labels: { keep: "yes" } },
  } as KubeObject);
  await assert.rejects(
    registry.delete(CMS, "default", "k"),
    (e: { code: number; message: string }) => {
      assert.equal(e.code, 403);
      assert.equal(e.message, 'admission webhook "del.example.com" denied the request: kept');
      return true;
    },
  );
  const last = seen.at(-1)?.review.request;
  assert.equal(last.object, null);
  assert.equal(last.operation, "DELETE");
  assert.equal(last.options.kind, "DeleteOptions");
  await registry.get(CMS, "default", "k");
});

test("matchPolicy Equivalent sends an autoscaling/v1 write to a v2 webhook as v2 and takes its patch back", async () => {
  const registry = freshRegistry();
  const rules = [
    {
      operations: ["CREATE"],
      apiGroups: ["autoscaling"],
      apiVersions: ["v2"],
      resources: ["horizontalpodautoscalers"],
    },
  ];
  handlers.set("/hpa", () =>
    patch([{ op: "add", path: "/metadata/labels", value: { seen: "v2" } }]),
  );
  await configure(registry, MWC, "h", [hook("hpa.example.com", "/hpa", rules)]);
  const created = await registry.create(
    { group: "autoscaling", version: "v1", resource: "horizontalpodautoscalers" },
    "default",
    {
      apiVersion: "autoscaling/v1",
      kind: "HorizontalPodAutoscaler",
      metadata: { name: "web" },
      spec: {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" },
        maxReplicas: 3,
      },
    } as KubeObject,
  );
  assert.equal(created.apiVersion, "autoscaling/v1");
  assert.equal(created.metadata.labels?.seen, "v2");
  const request = seen.at(-1)?.review.request;
  assert.equal(request.kind.version, "v2");
  assert.equal(request.object.apiVersion, "autoscaling/v2");
  assert.equal(request.requestKind.version, "v1");
});

test("a webhook whose Service does not exist fails the call in kube's words", async () => {
  const registry = freshRegistry();
  const rules = [
    { operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["configmaps"] },
  ];
  await configure(registry, VWC, "gone", [
    {
      ...hook("gone.example.com", "/x", rules),
      clientConfig: { service: { name: "gone", namespace: "default", path: "/check" } },
    },
  ]);
  await assert.rejects(
    registry.create(CMS, "default", {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "c" },
    } as KubeObject),
    (e: { code: number; message: string }) => {
      assert.equal(e.code, 500);
      assert.equal(
        e.message,
        'Internal error occurred: failed calling webhook "gone.example.com": failed to call webhook: Post "https://gone.default.svc:443/check?timeout=10s": service "gone" not found',
      );
      return true;
    },
  );
});

const conditionCases: Array<{
  name: string;
  conditions: Array<{ name: string; expression: string }>;
  failurePolicy?: string;
  called: boolean;
  error?: RegExp;
}> = [
  { name: "all true: called", conditions: [{ name: "a", expression: "true" }], called: true },
  {
    name: "one false: not called",
    conditions: [
      { name: "a", expression: "true" },
      { name: "b", expression: "object.metadata.name != 'skipped'" },
    ],
    called: false,
  },
  {
    name: "the request and the authorizer are in scope",
    conditions: [
      { name: "op", expression: "request.operation == 'CREATE' && oldObject == null" },
      {
        name: "authz",
        expression:
          "authorizer.group('').resource('configmaps').check('create').allowed() && authorizer.requestResource.check('create').allowed()",
      },
    ],
    called: true,
  },
  {
    name: "an error under Fail refuses in kube's words",
    conditions: [{ name: "a", expression: "object.nope == 1" }],
    called: false,
    error:
      /failed calling webhook "cond\.example\.com": failed to evaluate match conditions: expression 'object\.nope == 1' resulted in error: no such key: nope/,
  },
  {
    name: "an error under Ignore skips the webhook",
    conditions: [{ name: "a", expression: "object.nope == 1" }],
    failurePolicy: "Ignore",
    called: false,
  },
  {
    name: "a false condition wins over an error",
    conditions: [
      { name: "a", expression: "object.nope == 1" },
      { name: "b", expression: "false" },
    ],
    called: false,
  },
];

for (const c of conditionCases) {
  test(`matchConditions: ${c.name}`, async () => {
    const registry = freshRegistry();
    let calls = 0;
    handlers.set("/cond", () => {
      calls++;
      return { allowed: true };
    });
    const rules = [
      { operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["configmaps"] },
    ];
    await configure(registry, VWC, "cond", [
      hook("cond.example.com", "/cond", rules, {
        matchConditions: c.conditions,
        ...(c.failurePolicy ? { failurePolicy: c.failurePolicy } : {}),
      }),
    ]);
    await new Promise((r) => setImmediate(r));
    const cm = { metadata: { name: "skipped" }, data: {} } as unknown as KubeObject;
    if (c.error) await assert.rejects(registry.create(CMS, "default", cm), c.error);
    else await registry.create(CMS, "default", cm);
    assert.equal(calls, c.called ? 1 : 0);
  });
}
