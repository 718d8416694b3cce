import assert from "node:assert/strict";
import { test } from "node:test";
import { compile } from "../_compile.ts";
import { type DeclType, DYN } from "../_types.ts";
import {
  type AuthzAttributes,
  type AuthzUser,
  authorizerValue,
  requestResourceValue,
} from "./authz.ts";

const AUTHORIZER: DeclType = { name: "opaque", maxElements: 0, minSize: 1 };

/** Runs `expr` with an authorizer that records what it was asked and allows `allow`'s verbs. */
function run(expr: string, allow: (a: AuthzAttributes, u?: AuthzUser) => boolean) {
  const asked: Array<{ attributes: AuthzAttributes; user: AuthzUser | undefined }> = [];
  const c = compile(
    expr,
    new Map([
      ["authorizer", AUTHORIZER],
      ["object", DYN],
    ]),
  );
  if (!c.ok) return { result: `compile: ${c.error}`, asked };
  const authorizer = authorizerValue((attributes, user) => {
    asked.push({ attributes, user });
    return allow(attributes, user)
      ? { allowed: true, reason: "bound" }
      : { allowed: false, reason: "no rule" };
  });
  const r = c.program.eval({ authorizer, object: null });
  return { result: r instanceof Error ? `error: ${r.message}` : r, asked };
}

const cases: Array<{
  expr: string;
  allow: (a: AuthzAttributes, u?: AuthzUser) => boolean;
  result: unknown;
  asked?: Partial<AuthzAttributes> & { user?: string };
}> = [
  {
    expr: "authorizer.group('apps').resource('deployments').namespace('ns').name('web').check('update').allowed()",
    allow: (a) => a.verb === "update",
    result: true,
    asked: {
      apiGroup: "apps",
      resource: "deployments",
      namespace: "ns",
      name: "web",
      verb: "update",
    },
  },
  {
    expr: "authorizer.group('').resource('pods').subresource('exec').check('create').allowed()",
    allow: () => false,
    result: false,
    asked: { resource: "pods", subresource: "exec", verb: "create", resourceRequest: true },
  },
  {
    expr: "authorizer.group('').resource('pods').check('get').reason()",
    allow: () => false,
    result: "no rule",
  },
  {
    expr: "authorizer.path('/healthz').check('GET').allowed()",
    allow: (a) => !a.resourceRequest && a.path === "/healthz" && a.verb === "get",
    result: true,
    asked: { path: "/healthz", verb: "get", resourceRequest: false },
  },
  {
    expr: "authorizer.serviceAccount('kube-system', 'builder').group('').resource('secrets').check('list').allowed()",
    allow: (_a, u) => u?.name === "system:serviceaccount:kube-system:builder",
    result: true,
    asked: { resource: "secrets", user: "system:serviceaccount:kube-system:builder" },
  },
  {
    expr: "authorizer.group('').resource('pods').check('get').errored()",
    allow: () => true,
    result: false,
  },
  {
    expr: "authorizer.group('').nope()",
    allow: () => true,
    result:
      "compile: ERROR: <input>:1:21: undeclared reference to 'nope' (in container '')\n | authorizer.group('').nope()\n | ....................^",
  },
];

for (const c of cases) {
  test(`authorizer library: ${c.expr}`, () => {
    const { result, asked } = run(c.expr, c.allow);
    assert.equal(result, c.result);
    if (c.asked) {
      assert.equal(asked.length, 1);
      const { user, ...attributes } = c.asked;
      for (const [k, v] of Object.entries(attributes))
        assert.equal(asked[0]?.attributes[k as keyof AuthzAttributes], v, k);
      if (user) assert.equal(asked[0]?.user?.name, user);
    }
  });
}

test("authorizer library: an authorizer that throws is an errored decision", () => {
  const c = compile(
    "authorizer.group('').resource('pods').check('get').error()",
    new Map([["authorizer", AUTHORIZER]]),
  );
  assert.ok(c.ok);
  const authorizer = authorizerValue(() => {
    throw new Error("webhook authorizer down");
  });
  assert.equal(c.program.eval({ authorizer }), "webhook authorizer down");
});

test("authorizer library: authorizer.requestResource checks the request's own resource", () => {
  const c = compile(
    "authorizer.requestResource.subresource('status').check('patch').allowed()",
    new Map([["authorizer", AUTHORIZER]]),
  );
  assert.ok(c.ok, c.ok ? "" : c.error);
  const asked: AuthzAttributes[] = [];
  const check = (a: AuthzAttributes) => {
    asked.push(a);
    return { allowed: true, reason: "" };
  };
  const r = c.program.eval({
    authorizer: authorizerValue(check),
    "authorizer.requestResource": requestResourceValue(check, {
      group: "apps",
      resource: "deployments",
      subresource: "",
      namespace: "ns",
      name: "web",
    }),
  });
  assert.equal(r, true);
  assert.deepEqual(
    [
      asked[0]?.apiGroup,
      asked[0]?.resource,
      asked[0]?.subresource,
      asked[0]?.namespace,
      asked[0]?.name,
      asked[0]?.verb,
    ],
    ["apps", "deployments", "status", "ns", "web", "patch"],
  );
});
