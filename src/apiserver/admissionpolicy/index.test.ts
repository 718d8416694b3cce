import assert from "node:assert/strict";
import { test } from "node:test";
import { isStatusError, type StatusError } from "../../api/errors.ts";
import type { KubeObject } from "../../api/types.ts";
import { openStore } from "../../store/index.ts";
import { createRegistry } from "../index.ts";
import type { Registry } from "../registry/index.ts";

const VAP = {
  group: "admissionregistration.k8s.io",
  version: "v1",
  resource: "validatingadmissionpolicies",
};
const VAPB = {
  group: "admissionregistration.k8s.io",
  version: "v1",
  resource: "validatingadmissionpolicybindings",
};
const DEPLOYMENTS = { group: "apps", version: "v1", resource: "deployments" };
const CONFIGMAPS = { group: "", version: "v1", resource: "configmaps" };
const NAMESPACES = { group: "", version: "v1", resource: "namespaces" };

const RULES = [
  {
    apiGroups: ["apps"],
    apiVersions: ["v1"],
    operations: ["CREATE", "UPDATE"],
    resources: ["deployments"],
  },
];

function deployment(
  name: string,
  replicas: number,
  labels: Record<string, string> = {},
): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, labels: { app: name, ...labels } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: "c", image: "busybox" }] },
      },
    },
  } as KubeObject;
}

/** A registry whose policy watch has seen `policy` and `binding`. */
async function withPolicy(policySpec: object, bindingSpec: object, extra: KubeObject[] = []) {
  const { registry } = createRegistry(openStore({ backend: "memory" }));
  for (const o of extra) {
    const ref = o.kind === "Namespace" ? NAMESPACES : CONFIGMAPS;
    await registry.create(ref, o.metadata.namespace ?? "", o);
  }
  await registry.create(VAP, "", {
    metadata: { name: "demo-policy.example.com" },
    spec: { matchConstraints: { resourceRules: RULES }, ...policySpec },
  } as unknown as KubeObject);
  await registry.create(VAPB, "", {
    metadata: { name: "demo-binding-test.example.com" },
    spec: { policyName: "demo-policy.example.com", validationActions: ["Deny"], ...bindingSpec },
  } as unknown as KubeObject);
  await new Promise((r) => setImmediate(r)); // the store's watch events
  return registry;
}

async function refusal(registry: Registry, obj: KubeObject, warnings: string[] = []) {
  try {
    await registry.create(DEPLOYMENTS, "default", obj, {
      warn: (w: string) => warnings.push(w),
    } as never);
    return undefined;
  } catch (e) {
    if (!isStatusError(e)) throw e;
    return e as StatusError;
  }
}

const cases: Array<{
  name: string;
  policy: object;
  binding?: object;
  extra?: KubeObject[];
  replicas: number;
  labels?: Record<string, string>;
  denied?: string;
  code?: number;
  warning?: string;
}> = [
  {
    name: "a false validation denies with kube's message and 422 Invalid",
    policy: { validations: [{ expression: "object.spec.replicas <= 5" }] },
    replicas: 6,
    denied:
      "deployments.apps \"d\" is forbidden: ValidatingAdmissionPolicy 'demo-policy.example.com' with binding 'demo-binding-test.example.com' denied request: failed expression: object.spec.replicas <= 5",
    code: 422,
  },
  {
    name: "a true validation admits",
    policy: { validations: [{ expression: "object.spec.replicas <= 5" }] },
    replicas: 5,
  },
  {
    name: "message, messageExpression and reason shape the denial",
    policy: {
      validations: [
        { expression: "object.spec.replicas <= 5", message: "too many", reason: "Forbidden" },
        {
          expression: "object.spec.replicas <= 5",
          messageExpression: "'replicas ' + string(object.spec.replicas) + ' > 5'",
        },
      ],
    },
    replicas: 7,
    denied: "denied request: too many",
    code: 403,
  },
  {
    name: "a messageExpression's result is the message",
    policy: {
      validations: [
        {
          expression: "object.spec.replicas <= 5",
          messageExpression: "'replicas ' + string(object.spec.replicas) + ' > 5'",
        },
      ],
    },
    replicas: 7,
    denied: "denied request: replicas 7 > 5",
  },
  {
    name: "a matchCondition that is false skips the policy",
    policy: {
      matchConditions: [
        { name: "not-exempt", expression: "!('exempt' in object.metadata.labels)" },
      ],
      validations: [{ expression: "object.spec.replicas <= 5" }],
    },
    replicas: 9,
    labels: { exempt: "yes" },
  },
  {
    name: "variables are in scope as variables.<name>",
    policy: {
      variables: [{ name: "limit", expression: "3" }],
      validations: [{ expression: "object.spec.replicas <= variables.limit" }],
    },
    replicas: 4,
    denied: "failed expression: object.spec.replicas <= variables.limit",
  },
  {
    name: "a variable that fails makes the validations that read it fail",
    policy: {
      variables: [
        { name: "broken", expression: "object.spec.nothing" },
        { name: "fine", expression: "object.spec.replicas" },
      ],
      validations: [{ expression: "variables.fine < 3" }, { expression: "variables.broken == 1" }],
    },
    replicas: 1,
    denied:
      "denied request: expression 'variables.broken == 1' resulted in error: composited variable \"broken\" fails to evaluate: no such key: nothing",
  },
  {
    name: "an evaluation error denies under failurePolicy Fail",
    policy: { validations: [{ expression: "object.spec.missing == 1" }] },
    replicas: 1,
    denied:
      "denied request: expression 'object.spec.missing == 1' resulted in error: no such key: missing",
  },
  {
    name: "an evaluation error admits under failurePolicy Ignore",
    policy: { failurePolicy: "Ignore", validations: [{ expression: "object.spec.missing == 1" }] },
    replicas: 1,
  },
  {
    name: "validationActions Warn admits with kube's warning",
    policy: { validations: [{ expression: "object.spec.replicas <= 5" }] },
    binding: { validationActions: ["Warn"] },
    replicas: 6,
    warning:
      "Validation failed for ValidatingAdmissionPolicy 'demo-policy.example.com' with binding 'demo-binding-test.example.com': failed expression: object.spec.replicas <= 5",
  },
  {
    name: "validationActions Audit admits silently",
    policy: { validations: [{ expression: "object.spec.replicas <= 5" }] },
    binding: { validationActions: ["Audit"] },
    replicas: 6,
  },
  {
    name: "a binding's matchResources narrows the policy to the namespaces it selects",
    policy: { validations: [{ expression: "object.spec.replicas <= 5" }] },
    binding: { matchResources: { namespaceSelector: { matchLabels: { env: "test" } } } },
    replicas: 6,
  },
  {
    name: "params from a ConfigMap named by paramRef",
    policy: {
      paramKind: { apiVersion: "v1", kind: "ConfigMap" },
      validations: [{ expression: "object.spec.replicas <= int(params.data.maxReplicas)" }],
    },
    binding: {
      paramRef: { name: "limits", namespace: "default", parameterNotFoundAction: "Deny" },
    },
    extra: [
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "limits", namespace: "default" },
        data: { maxReplicas: "2" },
      } as KubeObject,
    ],
    replicas: 3,
    denied: "failed expression: object.spec.replicas <= int(params.data.maxReplicas)",
  },
  {
    name: "params not found under parameterNotFoundAction Deny refuse",
    policy: {
      paramKind: { apiVersion: "v1", kind: "ConfigMap" },
      validations: [{ expression: "object.spec.replicas <= int(params.data.maxReplicas)" }],
    },
    binding: { paramRef: { name: "absent", parameterNotFoundAction: "Deny" } },
    replicas: 1,
    denied:
      "denied request: failed to configure binding: no params found for policy binding with `Deny` parameterNotFoundAction",
  },
  {
    name: "params not found under parameterNotFoundAction Allow admit",
    policy: {
      paramKind: { apiVersion: "v1", kind: "ConfigMap" },
      validations: [{ expression: "false" }],
    },
    binding: { paramRef: { name: "absent", parameterNotFoundAction: "Allow" } },
    replicas: 1,
  },
  {
    name: "params chosen by a selector are each checked",
    policy: {
      paramKind: { apiVersion: "v1", kind: "ConfigMap" },
      validations: [{ expression: "object.spec.replicas <= int(params.data.max)" }],
    },
    binding: {
      paramRef: { selector: { matchLabels: { limits: "yes" } }, parameterNotFoundAction: "Deny" },
    },
    extra: [
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "a", namespace: "default", labels: { limits: "yes" } },
        data: { max: "10" },
      } as KubeObject,
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "b", namespace: "default", labels: { limits: "yes" } },
        data: { max: "4" },
      } as KubeObject,
    ],
    replicas: 5,
    denied: "failed expression",
  },
  {
    name: "excludeResourceRules with resourceNames exempt a named object",
    policy: {
      matchConstraints: {
        resourceRules: RULES,
        excludeResourceRules: [{ ...RULES[0], resourceNames: ["d"] }],
      },
      validations: [{ expression: "false" }],
    },
    replicas: 1,
  },
  {
    name: "the request variable shows the operation and user",
    policy: {
      validations: [{ expression: "request.operation == 'UPDATE'", message: "only updates" }],
    },
    replicas: 1,
    denied: "denied request: only updates",
  },
];

for (const c of cases) {
  test(`ValidatingAdmissionPolicy: ${c.name}`, async () => {
    const registry = await withPolicy(c.policy, c.binding ?? {}, c.extra ?? []);
    const warnings: string[] = [];
    const err = await refusal(registry, deployment("d", c.replicas, c.labels), warnings);
    if (c.denied) {
      assert.ok(err, "expected a refusal");
      assert.ok(err.message.includes(c.denied), err.message);
      if (c.code) assert.equal(err.code, c.code);
    } else {
      assert.equal(err, undefined, err?.message);
    }
    if (c.warning) assert.deepEqual(warnings, [c.warning]);
    else assert.deepEqual(warnings, []);
  });
}

test("ValidatingAdmissionPolicy: an invalid expression is refused at write with kube's detail", async () => {
  const { registry } = createRegistry(openStore({ backend: "memory" }));
  await assert.rejects(
    registry.create(VAP, "", {
      metadata: { name: "p.example.com" },
      spec: {
        matchConstraints: { resourceRules: RULES },
        validations: [{ expression: "object.spec.replicas <=" }, { expression: "object.spec" }],
        matchConditions: [{ name: "c", expression: "params.x" }],
      },
    } as unknown as KubeObject),
    (e: StatusError) => {
      assert.match(
        e.message,
        /spec\.validations\[0\]\.expression: Invalid value: "object\.spec\.replicas <=": compilation failed: ERROR: <input>:1:/,
      );
      assert.match(
        e.message,
        /spec\.validations\[1\]\.expression: Invalid value: "object\.spec": must evaluate to bool/,
      );
      assert.match(
        e.message,
        /spec\.matchConditions\[0\]\.expression: Invalid value: "params\.x": compilation failed: ERROR: <input>:1:1: undeclared reference to 'params'/,
      );
      return true;
    },
  );
});

test("ValidatingAdmissionPolicy: deleting the binding lifts the policy", async () => {
  const registry = await withPolicy({ validations: [{ expression: "false" }] }, {});
  assert.ok(await refusal(registry, deployment("x", 1)));
  await registry.delete(VAPB, "", "demo-binding-test.example.com");
  await new Promise((r) => setImmediate(r));
  assert.equal(await refusal(registry, deployment("x", 1)), undefined);
});

test("ValidatingAdmissionPolicy: status.typeChecking warns of fields the matched kinds lack", async () => {
  const { registry, policies } = createRegistry(openStore({ backend: "memory" }));
  await registry.create(VAP, "", {
    metadata: { name: "typo.example.com" },
    spec: {
      matchConstraints: { resourceRules: RULES },
      validations: [
        { expression: "object.spec.replicas <= 5" },
        { expression: "object.spec.replicass <= 5" },
      ],
    },
  } as unknown as KubeObject);
  let status: { observedGeneration?: number; typeChecking?: { expressionWarnings?: unknown[] } } =
    {};
  for (let i = 0; i < 100 && status.observedGeneration === undefined; i++) {
    await new Promise((r) => setTimeout(r, 10));
    const got = await registry.get(VAP, "", "typo.example.com");
    status = (got as { status?: typeof status }).status ?? {};
  }
  policies.stop();
  assert.equal(status.observedGeneration, 1);
  assert.deepEqual(status.typeChecking?.expressionWarnings, [
    {
      fieldRef: "spec.validations[1].expression",
      warning:
        "apps/v1, Kind=Deployment: ERROR: <input>:1:12: undefined field 'replicass'\n | object.spec.replicass <= 5\n | ...........^",
    },
  ]);
});
