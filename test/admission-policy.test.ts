/**
 * ValidatingAdmissionPolicy end to end (issue #16) with the real kubectl against loopkube's API
 * server: the Kubernetes docs' demo policy (Deployments in `environment: test` namespaces may
 * have at most 5 replicas) refuses with kube's message as kubectl prints it; `kubectl get`
 * shows kube's columns; a policy parameterized by a ConfigMap (paramKind, paramRef); a binding
 * with validationActions Warn admits and kubectl prints kube's `Warning: …`; an `authorizer`
 * check follows RBAC for a user kubectl impersonates; a bad expression is refused at write.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { kubectlFor, startTestApiServer, type TestApiServer } from "./_apiserver.ts";
import { NO_KUBECTL } from "./_kubectl.ts";

describe("ValidatingAdmissionPolicy with kubectl", { skip: NO_KUBECTL }, () => {
  let api: TestApiServer;
  const { kubectl, ok } = kubectlFor(() => api);
  /**
   * Runs kubectl until `done` holds for its result (policies take effect once the API server's
   * watch has seen them, as on kube), at most ~10 s.
   */
  const until = async (
    args: string[],
    done: (r: Awaited<ReturnType<typeof kubectl>>) => boolean,
    input?: string,
  ) => {
    let r = await kubectl(args, input);
    for (let i = 0; i < 100 && !done(r); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      r = await kubectl(args, input);
    }
    return r;
  };
  const deployment = (name: string, namespace: string, replicas: number) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  replicas: ${replicas}
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec: { containers: [{ name: c, image: busybox }] }
`;

  before(async () => {
    api = await startTestApiServer();
    await ok(
      ["apply", "-f", "-"],
      `apiVersion: v1
kind: Namespace
metadata: { name: vap-test, labels: { environment: test } }
---
apiVersion: v1
kind: Namespace
metadata: { name: vap-prod, labels: { environment: prod } }
`,
    );
  });
  after(async () => {
    await api?.stop();
  });

  test("the docs' demo policy refuses 6 replicas in a test namespace with kube's message", async () => {
    await ok(
      ["apply", "-f", "-"],
      `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: "demo-policy.example.com"
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups:   ["apps"]
      apiVersions: ["v1"]
      operations:  ["CREATE", "UPDATE"]
      resources:   ["deployments"]
  validations:
    - expression: "object.spec.replicas <= 5"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: "demo-binding-test.example.com"
spec:
  policyName: "demo-policy.example.com"
  validationActions: [Deny]
  matchResources:
    namespaceSelector:
      matchLabels:
        environment: test
`,
    );
    const r = await until(
      ["create", "-f", "-"],
      (x) => x.code !== 0,
      deployment("nginx", "vap-test", 6),
    );
    assert.notEqual(r.code, 0, r.out);
    assert.match(
      r.out,
      /The deployments "nginx" is invalid: : ValidatingAdmissionPolicy 'demo-policy\.example\.com' with binding 'demo-binding-test\.example\.com' denied request: failed expression: object\.spec\.replicas <= 5/,
    );
    await ok(["create", "-f", "-"], deployment("nginx", "vap-test", 5));
    await ok(["create", "-f", "-"], deployment("nginx", "vap-prod", 6));
    // As on kube: `kubectl scale` writes deployments/scale, which a `deployments` rule does not
    // name, so the policy does not see it.
    await ok(["scale", "deployment", "nginx", "-n", "vap-test", "--replicas=7"]);
  });

  test("kubectl get shows kube's columns for policies and bindings", async () => {
    const policies = await ok(["get", "validatingadmissionpolicies"]);
    assert.match(policies.stdout, /^NAME\s+VALIDATIONS\s+PARAMKIND\s+AGE$/m);
    assert.match(policies.stdout, /^demo-policy\.example\.com\s+1\s+<unset>\s+\S+$/m);
    const bindings = await ok(["get", "validatingadmissionpolicybindings"]);
    assert.match(bindings.stdout, /^NAME\s+POLICYNAME\s+PARAMREF\s+AGE$/m);
    assert.match(
      bindings.stdout,
      /^demo-binding-test\.example\.com\s+demo-policy\.example\.com\s+<unset>\s+\S+$/m,
    );
    const yaml = await ok([
      "get",
      "validatingadmissionpolicy",
      "demo-policy.example.com",
      "-o",
      "yaml",
    ]);
    assert.match(yaml.stdout, /matchPolicy: Equivalent/);
    // kube's type checking records the generation it checked and no warnings.
    const checked = await until(
      ["get", "validatingadmissionpolicy", "demo-policy.example.com", "-o", "jsonpath={.status}"],
      (x) => x.stdout.includes("observedGeneration"),
    );
    assert.deepEqual(JSON.parse(checked.stdout), { observedGeneration: 1, typeChecking: {} });
    assert.match(yaml.stdout, /scope: '\*'/);
  });

  test("a policy with a ConfigMap paramKind reads its limit from the bound ConfigMap", async () => {
    await ok(
      ["apply", "-f", "-"],
      `apiVersion: v1
kind: ConfigMap
metadata: { name: replica-limit, namespace: vap-prod }
data: { maxReplicas: "3" }
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: { name: replicalimit-policy.example.com }
spec:
  failurePolicy: Fail
  paramKind: { apiVersion: v1, kind: ConfigMap }
  matchConstraints:
    resourceRules:
    - { apiGroups: [apps], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [deployments] }
  validations:
    - expression: "object.spec.replicas <= int(params.data.maxReplicas)"
      messageExpression: "'replicas must be no greater than ' + params.data.maxReplicas"
      reason: Forbidden
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: { name: replicalimit-binding-prod.example.com }
spec:
  policyName: replicalimit-policy.example.com
  validationActions: [Deny]
  paramRef: { name: replica-limit, namespace: vap-prod, parameterNotFoundAction: Deny }
  matchResources:
    namespaceSelector: { matchLabels: { environment: prod } }
`,
    );
    const r = await until(
      ["create", "-f", "-"],
      (x) => x.code !== 0,
      deployment("web", "vap-prod", 4),
    );
    assert.notEqual(r.code, 0, r.out);
    assert.match(
      r.out,
      /deployments\.apps "web" is forbidden: ValidatingAdmissionPolicy 'replicalimit-policy\.example\.com' with binding 'replicalimit-binding-prod\.example\.com' denied request: replicas must be no greater than 3/,
    );
    await ok(["create", "-f", "-"], deployment("web", "vap-prod", 3));
    const bindings = await ok(["get", "validatingadmissionpolicybindings"]);
    assert.match(
      bindings.stdout,
      /replicalimit-binding-prod\.example\.com\s+replicalimit-policy\.example\.com\s+vap-prod\/replica-limit/,
    );
    // A larger limit in the ConfigMap is seen by the next request.
    await ok([
      "patch",
      "configmap",
      "replica-limit",
      "-n",
      "vap-prod",
      "-p",
      '{"data":{"maxReplicas":"4"}}',
    ]);
    await ok(["create", "-f", "-"], deployment("web4", "vap-prod", 4));
  });

  test("validationActions Warn admits and kubectl prints kube's warning", async () => {
    await ok(
      ["apply", "-f", "-"],
      `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: { name: labels-policy.example.com }
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - { apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [configmaps] }
  variables:
    - { name: labels, expression: "has(object.metadata.labels) ? object.metadata.labels : {}" }
  validations:
    - expression: "'team' in variables.labels"
      message: "configmaps should carry a team label"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: { name: labels-warn.example.com }
spec:
  policyName: labels-policy.example.com
  validationActions: [Warn]
`,
    );
    const r = await until(
      ["create", "configmap", "unlabelled", "-n", "vap-test"],
      (x) => x.code !== 0 || x.stderr.includes("Warning:"),
    );
    if (!r.stderr.includes("Warning:")) {
      // The first tries ran before the binding was seen: each made a ConfigMap of that name.
      await ok(["delete", "configmap", "unlabelled", "-n", "vap-test"]);
    }
    const warned = r.stderr.includes("Warning:")
      ? r
      : await until(["create", "configmap", "unlabelled2", "-n", "vap-test"], (x) =>
          x.stderr.includes("Warning:"),
        );
    assert.equal(warned.code, 0, warned.out);
    assert.match(
      warned.stderr,
      /Warning: Validation failed for ValidatingAdmissionPolicy 'labels-policy\.example\.com' with binding 'labels-warn\.example\.com': configmaps should carry a team label/,
    );
    const again = await ok(["create", "configmap", "unlabelled3", "-n", "vap-test"]);
    assert.match(again.stderr, /Warning: Validation failed/, "each unlabelled create is warned");
    const labelled = await ok(
      ["apply", "-f", "-"],
      `apiVersion: v1
kind: ConfigMap
metadata: { name: team-cm, namespace: vap-test, labels: { team: a } }
`,
    );
    assert.doesNotMatch(labelled.stderr, /Warning:/);
  });

  test("an authorizer check follows RBAC for the requesting user", async () => {
    await ok(
      ["apply", "-f", "-"],
      `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: { name: secrets-writers.example.com }
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - { apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [services] }
  validations:
    - expression: "authorizer.group('').resource('secrets').namespace(object.metadata.namespace).check('create').allowed()"
      message: "only users who may create secrets may create services"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: { name: secrets-writers-binding.example.com }
spec:
  policyName: secrets-writers.example.com
  validationActions: [Deny]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: services, namespace: vap-test }
rules: [{ apiGroups: [""], resources: [services], verbs: [create] }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: alice-services, namespace: vap-test }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: services }
subjects: [{ kind: User, name: alice, apiGroup: rbac.authorization.k8s.io }]
`,
    );
    const svc = (name: string) => `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: vap-test }
spec: { ports: [{ port: 80 }] }
`;
    const denied = await until(
      ["create", "--as", "alice", "-f", "-"],
      (x) => x.code !== 0 && x.out.includes("ValidatingAdmissionPolicy"),
      svc("by-alice"),
    );
    assert.match(
      denied.out,
      /ValidatingAdmissionPolicy 'secrets-writers\.example\.com' with binding 'secrets-writers-binding\.example\.com' denied request: only users who may create secrets may create services/,
    );
    await ok(["create", "-f", "-"], svc("by-admin"));
  });

  test("a policy with a bad expression is refused with kube's field path and detail", async () => {
    const r = await kubectl(
      ["apply", "-f", "-"],
      `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: { name: broken.example.com }
spec:
  matchConstraints:
    resourceRules:
    - { apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments] }
  validations:
    - expression: "object.spec.replicas <"
    - expression: "params.max > 1"
`,
    );
    assert.notEqual(r.code, 0);
    assert.match(r.out, /The ValidatingAdmissionPolicy "broken\.example\.com" is invalid/);
    assert.match(
      r.out,
      /spec\.validations\[0\]\.expression: Invalid value: "object\.spec\.replicas <": compilation failed: ERROR: <input>:1:/,
    );
    assert.match(
      r.out,
      /spec\.validations\[1\]\.expression: Invalid value: "params\.max > 1": compilation failed: ERROR: <input>:1:1: undeclared reference to 'params'/,
    );
  });
});
