/**
 * CEL's optional syntax in CRD validation rules (issue #16), with the real kubectl: a rule written
 * with `.?` and `[?` is accepted on the CRD and decides on custom resources, with and without the
 * optional fields; a misspelt field behind `.?` is refused at CRD write with cel-go's message.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestApiServer, type TestApiServer } from "./_apiserver.ts";
import { NO_KUBECTL } from "./_kubectl.ts";

const GROUP = "opt.example.com";
const crd = (rule: string) => `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: pools.${GROUP}
spec:
  group: ${GROUP}
  scope: Namespaced
  names: { plural: pools, kind: Pool }
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-validations:
            - rule: ${JSON.stringify(rule)}
              message: at most 5 replicas, and tier web wants 2 or more
          properties:
            spec:
              type: object
              properties:
                replicas: { type: integer }
                labels: { type: object, additionalProperties: { type: string } }
`;

const pool = (name: string, spec: string) => `apiVersion: ${GROUP}/v1
kind: Pool
metadata: { name: ${name} }
spec: ${spec}
`;

describe("CEL optional syntax in CRD rules with kubectl", { skip: NO_KUBECTL }, () => {
  let api: TestApiServer;
  const kubectl = async (args: string[], input?: string) => {
    const r = await api.kubectl(args, input === undefined ? {} : { input });
    return { ...r, out: r.stdout + r.stderr };
  };

  before(async () => {
    api = await startTestApiServer();
  });
  after(async () => {
    await api?.stop();
  });

  test("a misspelt field behind .? is refused at CRD write", async () => {
    const r = await kubectl(["apply", "-f", "-"], crd("self.?spec.?replicaz.orValue(1) <= 5"));
    assert.notEqual(r.code, 0);
    assert.match(r.out, /compilation failed: ERROR: <input>:1:11: undefined field 'replicaz'/);
  });

  test("rules with .? and [? decide with and without the optional fields", async () => {
    const rule =
      "self.?spec.?replicas.orValue(1) <= 5 && (self.?spec.?labels[?'tier'].orValue('') != 'web' || self.?spec.?replicas.orValue(1) >= 2)";
    const applied = await kubectl(["apply", "-f", "-"], crd(rule));
    assert.equal(applied.code, 0, applied.out);
    const est = await kubectl([
      "wait",
      "--for=condition=Established",
      `crd/pools.${GROUP}`,
      "--timeout=20s",
    ]);
    assert.equal(est.code, 0, est.out);
    for (const [name, spec] of [
      ["empty", "{}"],
      ["three", "{ replicas: 3 }"],
      ["web", "{ replicas: 2, labels: { tier: web } }"],
    ] as const) {
      const r = await kubectl(["create", "-f", "-"], pool(name, spec));
      assert.equal(r.code, 0, `${name}: ${r.out}`);
    }
    for (const [name, spec] of [
      ["nine", "{ replicas: 9 }"],
      ["lonely-web", "{ labels: { tier: web } }"],
    ] as const) {
      const r = await kubectl(["create", "-f", "-"], pool(name, spec));
      assert.notEqual(r.code, 0, name);
      assert.match(r.out, /at most 5 replicas, and tier web wants 2 or more/);
    }
  });
});
