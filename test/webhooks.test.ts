/**
 * Admission webhooks end to end (issue #16): an HTTPS webhook server in this test (its own CA
 * and certificate, made here), reached by URL and through a Service and its Endpoints, called by
 * the API server as kube-apiserver calls them; the clients are the real kubectl and
 * @kubernetes/client-node. A mutating webhook adds a label `kubectl get -o yaml` shows (only in
 * the namespace its namespaceSelector picks), its warning reaches kubectl, a validating webhook
 * refuses with kube's printed error, failurePolicy Fail refuses and Ignore admits with the
 * webhook down, a webhook that never answers costs its timeout but does not hold up others, and
 * matchConditions (CEL, with an RBAC `authorizer` check) decide whether a webhook is called.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { ensurePki } from "../src/apiserver/pki.ts";
import { kubectlFor, startTestApiServer, type TestApiServer } from "./_apiserver.ts";
import { NO_KUBECTL } from "./_kubectl.ts";

interface Review {
  request: {
    uid: string;
    operation: string;
    name: string;
    namespace?: string;
    object?: { metadata: { name?: string; labels?: Record<string, string> } };
    kind: { kind: string };
    resource: { resource: string; version: string };
    subResource?: string;
    userInfo: { username: string };
    dryRun: boolean;
  };
}

/** The test's webhook server: one handler per path, every review it got kept. */
async function startWebhookServer(
  cert: string,
  key: string,
): Promise<{ server: Server; port: number; reviews: Array<{ path: string; review: Review }> }> {
  const reviews: Array<{ path: string; review: Review }> = [];
  const answer = (review: Review, response: Record<string, unknown>) => ({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    response: { uid: review.request.uid, ...response },
  });
  const server = createServer({ cert, key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const path = (req.url ?? "").split("?")[0] ?? "";
      const review = JSON.parse(Buffer.concat(chunks).toString()) as Review;
      reviews.push({ path, review });
      const obj = review.request.object;
      let body: object;
      switch (path) {
        case "/inject": {
          const ops = obj?.metadata.labels
            ? [{ op: "add", path: "/metadata/labels/injected", value: "yes" }]
            : [{ op: "add", path: "/metadata/labels", value: { injected: "yes" } }];
          body = answer(review, {
            allowed: true,
            patchType: "JSONPatch",
            patch: Buffer.from(JSON.stringify(ops)).toString("base64"),
            warnings: ["the label injected=yes was added"],
          });
          break;
        }
        case "/deny":
          body = obj?.metadata.name?.startsWith("bad")
            ? answer(review, {
                allowed: false,
                status: {
                  code: 403,
                  reason: "Forbidden",
                  message: "names starting with bad are refused",
                },
              })
            : answer(review, { allowed: true });
          break;
        case "/slow":
          return; // never answers: the API server's timeout must end the call
        default:
          body = answer(review, { allowed: true });
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port, reviews };
}

describe("admission webhooks with kubectl", { skip: NO_KUBECTL }, () => {
  let api: TestApiServer;
  let hooks: Awaited<ReturnType<typeof startWebhookServer>>;
  let caBundle: string;
  let dir: string;
  const { kubectl, ok } = kubectlFor(() => api);
  const pod = (name: string, namespace: string) => `apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: ${namespace}, labels: { app: web } }
spec:
  containers: [{ name: c, image: busybox }]
`;

  before(async () => {
    api = await startTestApiServer();
    dir = mkdtempSync(join(tmpdir(), "loopkube-hooks-"));
    const pki = await ensurePki(join(dir, "pki"), {
      clusterName: "hooks",
      hosts: ["hooks.default.svc", "127.0.0.1"],
    });
    caBundle = Buffer.from(pki.caCert).toString("base64");
    hooks = await startWebhookServer(pki.serverCert, pki.serverKey);
    // A Service without a selector and its Endpoints: the webhook server on the host.
    await ok(
      ["apply", "-f", "-"],
      `apiVersion: v1
kind: Service
metadata: { name: hooks, namespace: default }
spec: { ports: [{ name: https, port: 443, targetPort: ${hooks.port} }] }
---
apiVersion: v1
kind: Endpoints
metadata: { name: hooks, namespace: default }
subsets: [{ addresses: [{ ip: 127.0.0.1 }], ports: [{ name: https, port: ${hooks.port} }] }]
---
apiVersion: v1
kind: Namespace
metadata: { name: hooked, labels: { webhooks: "on" } }
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: { name: inject }
webhooks:
  - name: inject.example.com
    clientConfig:
      service: { name: hooks, namespace: default, path: /inject }
      caBundle: ${caBundle}
    rules: [{ operations: [CREATE], apiGroups: [""], apiVersions: [v1], resources: [pods] }]
    namespaceSelector: { matchLabels: { webhooks: "on" } }
    sideEffects: None
    admissionReviewVersions: [v1]
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: { name: deny }
webhooks:
  - name: deny.example.com
    clientConfig: { url: "https://127.0.0.1:${hooks.port}/deny", caBundle: ${caBundle} }
    rules: [{ operations: [CREATE, UPDATE], apiGroups: [""], apiVersions: [v1], resources: [configmaps] }]
    sideEffects: None
    admissionReviewVersions: [v1]
`,
    );
  });
  after(async () => {
    hooks?.server.closeAllConnections();
    hooks?.server.close();
    await api?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("kubectl get shows the configurations with kube's columns and defaults", async () => {
    const { stdout } = await ok(["get", "mutatingwebhookconfigurations"]);
    assert.match(stdout, /^NAME\s+WEBHOOKS\s+AGE\n/);
    assert.match(stdout, /\ninject\s+1\s+\d+s\n/);
    const hook = JSON.parse(
      (await ok(["get", "validatingwebhookconfiguration", "deny", "-o", "json"])).stdout,
    ).webhooks[0];
    assert.equal(hook.failurePolicy, "Fail");
    assert.equal(hook.matchPolicy, "Equivalent");
    assert.equal(hook.timeoutSeconds, 10);
    assert.deepEqual(hook.namespaceSelector, {});
    assert.equal(hook.rules[0].scope, "*");
  });

  test("an invalid configuration is refused with kube's messages", async () => {
    const r = await kubectl(
      ["apply", "-f", "-"],
      `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: { name: broken }
webhooks:
  - name: short
    clientConfig: { url: "http://example.com/x" }
    timeoutSeconds: 31
    admissionReviewVersions: []
`,
    );
    assert.notEqual(r.code, 0);
    assert.match(r.out, /The ValidatingWebhookConfiguration "broken" is invalid/);
    assert.match(
      r.out,
      /webhooks\[0\]\.name: Invalid value: "short": should be a domain with at least three segments separated by dots/,
    );
    assert.match(
      r.out,
      /webhooks\[0\]\.sideEffects: Required value: must specify one of None, NoneOnDryRun/,
    );
    assert.match(
      r.out,
      /webhooks\[0\]\.timeoutSeconds: Invalid value: 31: the timeout value must be between 1 and 30 seconds/,
    );
    assert.match(
      r.out,
      /webhooks\[0\]\.admissionReviewVersions: Required value: must specify one of v1, v1beta1/,
    );
    assert.match(
      r.out,
      /webhooks\[0\]\.clientConfig\.url: Invalid value: "http": 'https' is the only allowed URL scheme/,
    );
  });

  test("a mutating webhook reached through its Service adds a label kubectl shows, and its warning", async () => {
    const created = await ok(["create", "-f", "-"], pod("web", "hooked"));
    assert.match(created.stderr, /Warning: the label injected=yes was added/);
    const yaml = (await ok(["get", "pod", "web", "-n", "hooked", "-o", "yaml"])).stdout;
    assert.match(yaml, /labels:\n\s+app: web\n\s+injected: "yes"/);
    const review = hooks.reviews.find((r) => r.path === "/inject")?.review;
    assert.ok(review);
    assert.equal(review.request.operation, "CREATE");
    assert.equal(review.request.namespace, "hooked");
    assert.equal(review.request.kind.kind, "Pod");
    assert.equal(review.request.userInfo.username, "kubernetes-admin");
    // namespaceSelector: a namespace without the label is left alone.
    await ok(["create", "-f", "-"], pod("plain", "default"));
    const labels = (await ok(["get", "pod", "plain", "-o", "jsonpath={.metadata.labels}"])).stdout;
    assert.deepEqual(JSON.parse(labels), { app: "web" });
  });

  test("a validating webhook's refusal is kube's error, printed by kubectl", async () => {
    const r = await kubectl(["create", "configmap", "bad-config", "--from-literal=a=b"]);
    assert.notEqual(r.code, 0);
    assert.match(
      r.out,
      /admission webhook "deny\.example\.com" denied the request: names starting with bad are refused/,
    );
    assert.equal((await kubectl(["get", "configmap", "bad-config"])).code, 1);
    await ok(["create", "configmap", "good-config", "--from-literal=a=b"]);
    // client-node sees the Status: code and reason from the webhook's status.
    const kc = new k8s.KubeConfig();
    kc.loadFromString(api.kubeconfig);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    await assert.rejects(
      core.createNamespacedConfigMap({
        namespace: "default",
        body: { metadata: { name: "bad-too" }, data: { a: "b" } },
      }),
      (e: { code?: number; body?: string }) => {
        assert.equal(e.code, 403);
        const status = JSON.parse(e.body ?? "{}");
        assert.equal(status.reason, "Forbidden");
        assert.equal(
          status.message,
          'admission webhook "deny.example.com" denied the request: names starting with bad are refused',
        );
        return true;
      },
    );
  });

  test("failurePolicy Fail refuses while the webhook is down, Ignore admits", async () => {
    const down = `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: { name: down }
webhooks:
  - name: down.example.com
    clientConfig: { url: "https://127.0.0.1:1/never", caBundle: ${caBundle} }
    rules: [{ operations: [CREATE], apiGroups: [""], apiVersions: [v1], resources: [secrets] }]
    sideEffects: None
    admissionReviewVersions: [v1]
    failurePolicy: POLICY
`;
    await ok(["apply", "-f", "-"], down.replace("POLICY", "Fail"));
    const r = await kubectl(["create", "secret", "generic", "s1", "--from-literal=a=b"]);
    assert.notEqual(r.code, 0);
    assert.match(
      r.out,
      /Internal error occurred: failed calling webhook "down\.example\.com": failed to call webhook: Post "https:\/\/127\.0\.0\.1:1\/never\?timeout=10s": dial tcp 127\.0\.0\.1:1: connect: connection refused/,
    );
    await ok(["apply", "-f", "-"], down.replace("POLICY", "Ignore"));
    await ok(["create", "secret", "generic", "s2", "--from-literal=a=b"]);
    await ok(["delete", "validatingwebhookconfiguration", "down"]);
  });

  test("a webhook that never answers ends at its timeout and does not hold up other requests", async () => {
    await ok(
      ["apply", "-f", "-"],
      `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: { name: slow }
webhooks:
  - name: slow.example.com
    clientConfig: { url: "https://127.0.0.1:${hooks.port}/slow", caBundle: ${caBundle} }
    rules: [{ operations: [CREATE], apiGroups: [""], apiVersions: [v1], resources: [serviceaccounts] }]
    sideEffects: None
    admissionReviewVersions: [v1]
    timeoutSeconds: 2
    failurePolicy: Ignore
`,
    );
    const order: string[] = [];
    const slow = kubectl(["create", "serviceaccount", "patient"]).then((r) => {
      order.push("slow create");
      return r;
    });
    // Wait until the webhook holds the request, then read something else meanwhile.
    const started = Date.now();
    while (!hooks.reviews.some((r) => r.path === "/slow") && Date.now() - started < 20_000)
      await new Promise((resolve) => setTimeout(resolve, 20));
    await ok(["get", "configmap", "good-config"]);
    order.push("get");
    const r = await slow;
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(order, ["get", "slow create"]);
    await ok(["get", "serviceaccount", "patient"]);
    await ok(["delete", "validatingwebhookconfiguration", "slow"]);
  });

  test("a wrong caBundle is a failed call with Go's certificate error", async () => {
    const other = await ensurePki(join(dir, "other"), {
      clusterName: "other",
      hosts: ["127.0.0.1"],
    });
    await ok(
      ["apply", "-f", "-"],
      `apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: { name: untrusted }
webhooks:
  - name: untrusted.example.com
    clientConfig:
      url: "https://127.0.0.1:${hooks.port}/inject"
      caBundle: ${Buffer.from(other.caCert).toString("base64")}
    rules: [{ operations: [CREATE], apiGroups: [""], apiVersions: [v1], resources: [configmaps] }]
    sideEffects: None
    admissionReviewVersions: [v1]
`,
    );
    const r = await kubectl(["create", "configmap", "trusting", "--from-literal=a=b"]);
    assert.notEqual(r.code, 0);
    assert.match(
      r.out,
      /failed calling webhook "untrusted\.example\.com": failed to call webhook: Post "https:\/\/127\.0\.0\.1:\d+\/inject\?timeout=10s": tls: failed to verify certificate: x509: certificate signed by unknown authority/,
    );
    await ok(["delete", "mutatingwebhookconfiguration", "untrusted"]);
  });

  test("matchConditions (CEL) decide whether a webhook is called; a bad expression is refused", async () => {
    await ok(
      ["apply", "-f", "-"],
      `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: { name: conditional }
webhooks:
  - name: conditional.example.com
    clientConfig: { url: "https://127.0.0.1:${hooks.port}/conditional", caBundle: ${caBundle} }
    rules: [{ operations: [CREATE], apiGroups: [""], apiVersions: [v1], resources: [limitranges] }]
    matchConditions:
      - name: not-skipped
        expression: "!('skip' in object.metadata.labels)"
      - name: admin-can-list-pods
        expression: "authorizer.group('').resource('pods').namespace('default').check('list').allowed()"
    sideEffects: None
    admissionReviewVersions: [v1]
`,
    );
    const called = () => hooks.reviews.filter((r) => r.path === "/conditional").length;
    const limitRange = (name: string, labels: string) => `apiVersion: v1
kind: LimitRange
metadata: { name: ${name}, namespace: default, labels: { ${labels} } }
spec: { limits: [{ type: Container, default: { cpu: 100m } }] }
`;
    const before = called();
    await ok(["create", "-f", "-"], limitRange("lr-skipped", "skip: 'yes'"));
    assert.equal(called(), before, "the condition excluded the request: the webhook is not called");
    await ok(["create", "-f", "-"], limitRange("lr-checked", "app: web"));
    assert.equal(called(), before + 1, "both conditions hold: the webhook is called");
    const bad = await kubectl(
      ["apply", "-f", "-"],
      `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: { name: conditional-bad }
webhooks:
  - name: bad.example.com
    clientConfig: { url: "https://127.0.0.1:${hooks.port}/conditional", caBundle: ${caBundle} }
    matchConditions: [{ name: typo, expression: "object.metadata.name ==" }, { name: count, expression: "1 + 1" }]
    sideEffects: None
    admissionReviewVersions: [v1]
`,
    );
    assert.notEqual(bad.code, 0);
    assert.match(
      bad.out,
      /webhooks\[0\]\.matchConditions\[0\]\.expression: Invalid value: "object\.metadata\.name ==": compilation failed: ERROR: <input>:1:/,
    );
    assert.match(
      bad.out,
      /webhooks\[0\]\.matchConditions\[1\]\.expression: Invalid value: "1 \+ 1": must evaluate to bool/,
    );
    await ok(["delete", "limitrange", "lr-skipped", "lr-checked"]);
    await ok(["delete", "validatingwebhookconfiguration", "conditional"]);
  });

  test("webhooks are never called for webhook configurations themselves", async () => {
    const before = hooks.reviews.length;
    await ok(["label", "validatingwebhookconfiguration", "deny", "touched=yes"]);
    assert.equal(hooks.reviews.length, before);
  });
});
