/**
 * Kubernetes' authorizer library (`library/authz.go`), which admission expressions reach through
 * the `authorizer` variable: `authorizer.group(g).resource(r)[.subresource(s)][.namespace(n)]
 * [.name(n)].check(verb)`, `authorizer.path(p).check(httpVerb)`,
 * `authorizer.serviceAccount(ns, name)` (the same checks as that service account),
 * `authorizer.requestResource` (aimed at the request's resource), and on the
 * decision `allowed()`, `reason()`, `errored()`, `error()`. The values are opaque messages; what
 * they check with (the API server's authorizer) lives beside each in a WeakMap.
 *
 * @module
 */
import { type CelFunc, CelScalar, celMethod } from "@bufbuild/cel";
import { create } from "@bufbuild/protobuf";
import type { AuthzAttributes } from "../../api/authz.ts";
import { AUTHORIZER, DECISION, GROUP_CHECK, PATH_CHECK, RESOURCE_CHECK } from "../_opaque.ts";

/** The request one check asks about (kube's authorizer.Attributes, as far as CEL can set them). */
export type { AuthzAttributes };

/** Who a check is for: the requester, or a service account (`serviceAccount(ns, name)`). */
export interface AuthzUser {
  name: string;
  groups: string[];
}

export interface AuthzDecision {
  allowed: boolean;
  reason: string;
  /** Set when the authorizer could not decide. */
  error?: string;
}

/** Answers one check; `user` undefined means the requester. */
export type AuthzCheck = (
  attributes: AuthzAttributes,
  user: AuthzUser | undefined,
) => AuthzDecision;

interface State {
  check: AuthzCheck;
  user?: AuthzUser | undefined;
  path?: string;
  group?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  decision?: AuthzDecision;
}

const states = new WeakMap<object, State>();

type Typed = Parameters<typeof create>[0];

function value(type: typeof AUTHORIZER, state: State) {
  if (!type.desc) throw new Error(`${type.name} has no descriptor`);
  const m = create(type.desc as Typed, { text: "" } as never);
  states.set(m, state);
  return m;
}

function stateOf(v: unknown): State {
  const m = v as { message?: object };
  const s = states.get(m.message ?? (v as object));
  if (!s) throw new Error("no such overload");
  return s;
}

/** The `authorizer` variable's value: checks go to `check`. */
export function authorizerValue(check: AuthzCheck) {
  return value(AUTHORIZER, { check });
}

/** `authorizer.requestResource`: a resource check already aimed at the request's resource. */
export function requestResourceValue(
  check: AuthzCheck,
  resource: {
    group: string;
    resource: string;
    subresource: string;
    namespace: string;
    name: string;
  },
) {
  return value(RESOURCE_CHECK, { check, ...resource });
}

function decide(s: State, attributes: AuthzAttributes) {
  let decision: AuthzDecision;
  try {
    decision = s.check(attributes, s.user);
  } catch (e) {
    decision = { allowed: false, reason: "", error: (e as Error).message };
  }
  return value(DECISION, { check: s.check, decision });
}

const decisionOf = (v: unknown): AuthzDecision =>
  stateOf(v).decision ?? { allowed: false, reason: "" };

export const AUTHZ: CelFunc[] = [
  celMethod("path", AUTHORIZER, [CelScalar.STRING], PATH_CHECK, function (path) {
    return value(PATH_CHECK, { ...stateOf(this), path });
  }),
  celMethod("group", AUTHORIZER, [CelScalar.STRING], GROUP_CHECK, function (group) {
    return value(GROUP_CHECK, { ...stateOf(this), group });
  }),
  celMethod(
    "serviceAccount",
    AUTHORIZER,
    [CelScalar.STRING, CelScalar.STRING],
    AUTHORIZER,
    function (namespace, name) {
      const user: AuthzUser = {
        name: `system:serviceaccount:${namespace}:${name}`,
        groups: ["system:serviceaccounts", `system:serviceaccounts:${namespace}`],
      };
      return value(AUTHORIZER, { check: stateOf(this).check, user });
    },
  ),
  celMethod("resource", GROUP_CHECK, [CelScalar.STRING], RESOURCE_CHECK, function (resource) {
    return value(RESOURCE_CHECK, { ...stateOf(this), resource });
  }),
  celMethod("subresource", RESOURCE_CHECK, [CelScalar.STRING], RESOURCE_CHECK, function (sub) {
    return value(RESOURCE_CHECK, { ...stateOf(this), subresource: sub });
  }),
  celMethod("namespace", RESOURCE_CHECK, [CelScalar.STRING], RESOURCE_CHECK, function (ns) {
    return value(RESOURCE_CHECK, { ...stateOf(this), namespace: ns });
  }),
  celMethod("name", RESOURCE_CHECK, [CelScalar.STRING], RESOURCE_CHECK, function (name) {
    return value(RESOURCE_CHECK, { ...stateOf(this), name });
  }),
  celMethod("check", RESOURCE_CHECK, [CelScalar.STRING], DECISION, function (verb) {
    const s = stateOf(this);
    return decide(s, {
      verb,
      resourceRequest: true,
      path: "",
      apiGroup: s.group ?? "",
      apiVersion: "*",
      resource: s.resource ?? "",
      subresource: s.subresource ?? "",
      namespace: s.namespace ?? "",
      name: s.name ?? "",
    });
  }),
  celMethod("check", PATH_CHECK, [CelScalar.STRING], DECISION, function (verb) {
    const s = stateOf(this);
    return decide(s, {
      verb: verb.toLowerCase(),
      resourceRequest: false,
      path: s.path ?? "",
      apiGroup: "",
      apiVersion: "",
      resource: "",
      subresource: "",
      namespace: "",
      name: "",
    });
  }),
  celMethod("allowed", DECISION, [], CelScalar.BOOL, function () {
    return decisionOf(this).allowed;
  }),
  celMethod("reason", DECISION, [], CelScalar.STRING, function () {
    return decisionOf(this).reason;
  }),
  celMethod("errored", DECISION, [], CelScalar.BOOL, function () {
    return decisionOf(this).error !== undefined;
  }),
  celMethod("error", DECISION, [], CelScalar.STRING, function () {
    return decisionOf(this).error ?? "";
  }),
];
