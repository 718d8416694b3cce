/**
 * The review APIs, answered as kube-apiserver answers them and never stored:
 * `authorization.k8s.io/v1` SubjectAccessReview, LocalSubjectAccessReview (namespaced; its
 * namespace must match the spec's), SelfSubjectAccessReview (`kubectl auth can-i`) and
 * SelfSubjectRulesReview (`kubectl auth can-i --list`), and `authentication.k8s.io/v1`
 * SelfSubjectReview (`kubectl auth whoami`) and TokenReview. Each answers 201 with the object
 * sent and its `status`; any other method is 405.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { type FieldError, fieldInvalid, invalid, methodNotAllowed } from "../../api/errors.ts";
import type { UserInfo } from "../authn.ts";
import { decodeObject, readBody } from "../http/codec.ts";
import { sendJson } from "../http/respond.ts";
import { route } from "../http/route.ts";
import { decodeKubeProtobuf } from "../protobuf/index.ts";
import type { Attributes, PolicyRule } from "./_rules.ts";
import type { Authorizer } from "./authorizer.ts";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown) => (typeof v === "string" ? v : "");
const strings = (v: unknown) =>
  Array.isArray(v) ? v.filter((s): s is string => typeof s === "string") : [];

/** Recognises a bearer token for TokenReview (the API server's token authenticators). */
export type TokenReviewer = (token: string) => { user: UserInfo } | { error: string } | undefined;

const REVIEWS: Record<string, { group: string; kind: string; namespaced?: boolean }> = {
  "authorization.k8s.io/subjectaccessreviews": {
    group: "authorization.k8s.io",
    kind: "SubjectAccessReview",
  },
  "authorization.k8s.io/localsubjectaccessreviews": {
    group: "authorization.k8s.io",
    kind: "LocalSubjectAccessReview",
    namespaced: true,
  },
  "authorization.k8s.io/selfsubjectaccessreviews": {
    group: "authorization.k8s.io",
    kind: "SelfSubjectAccessReview",
  },
  "authorization.k8s.io/selfsubjectrulesreviews": {
    group: "authorization.k8s.io",
    kind: "SelfSubjectRulesReview",
  },
  "authentication.k8s.io/selfsubjectreviews": {
    group: "authentication.k8s.io",
    kind: "SelfSubjectReview",
  },
  "authentication.k8s.io/tokenreviews": { group: "authentication.k8s.io", kind: "TokenReview" },
};

function accessAttributes(spec: Obj, kind: string): Attributes | FieldError[] {
  const res = spec.resourceAttributes;
  const non = spec.nonResourceAttributes;
  if (isObj(res) === isObj(non)) {
    return [
      {
        type: "FieldValueInvalid",
        field: "spec.resourceAttributes",
        message: `Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified`,
      },
    ];
  }
  void kind;
  if (isObj(non)) {
    return {
      verb: str(non.verb),
      resourceRequest: false,
      path: str(non.path),
      apiGroup: "",
      apiVersion: "",
      resource: "",
      subresource: "",
      namespace: "",
      name: "",
    };
  }
  const r = res as Obj;
  return {
    verb: str(r.verb),
    resourceRequest: true,
    path: "",
    apiGroup: str(r.group),
    apiVersion: str(r.version),
    resource: str(r.resource),
    subresource: str(r.subresource),
    namespace: str(r.namespace),
    name: str(r.name),
  };
}

function splitRules(rules: PolicyRule[]) {
  const resourceRules: Obj[] = [];
  const nonResourceRules: Obj[] = [];
  for (const rule of rules) {
    const verbs = strings(rule.verbs);
    if (strings(rule.nonResourceURLs).length > 0) {
      nonResourceRules.push({ verbs, nonResourceURLs: strings(rule.nonResourceURLs) });
      continue;
    }
    const out: Obj = {
      verbs,
      apiGroups: strings(rule.apiGroups),
      resources: strings(rule.resources),
    };
    if (strings(rule.resourceNames).length > 0) out.resourceNames = strings(rule.resourceNames);
    resourceRules.push(out);
  }
  return { resourceRules, nonResourceRules };
}

function userInfoOf(user: UserInfo): Obj {
  const out: Obj = { username: user.name, groups: user.groups };
  if (user.uid) out.uid = user.uid;
  if (user.extra) out.extra = user.extra;
  return out;
}

/**
 * Serves a review request when the path names one: true when answered (or refused), false when
 * the request is not a review.
 */
export async function serveReview(
  req: IncomingMessage,
  res: ServerResponse,
  options: { user: UserInfo; authorizer: Authorizer; tokens: TokenReviewer },
): Promise<boolean> {
  const url = req.url ?? "/";
  if (
    !url.startsWith("/apis/authorization.k8s.io/") &&
    !url.startsWith("/apis/authentication.k8s.io/")
  )
    return false;
  const r = route(url.split("?")[0] ?? "/");
  if (r.type !== "resource" || r.version !== "v1" || r.name !== undefined) return false;
  const review = REVIEWS[`${r.group}/${r.resource}`];
  if (!review || (review.namespaced ?? false) !== (r.namespace !== "")) return false;
  if (req.method !== "POST") throw methodNotAllowed(req.method ?? "GET", r.resource);
  const body = decodeObject(await readBody(req), req.headers["content-type"], (b) =>
    decodeKubeProtobuf(b),
  );
  const obj: Obj = isObj(body) ? body : {};
  const metadata = isObj(obj.metadata) ? obj.metadata : {};
  const spec = isObj(obj.spec) ? obj.spec : {};
  const fail = (errors: FieldError[]) =>
    invalid(review.kind, review.group, str(metadata.name), errors);
  let status: Obj;
  switch (review.kind) {
    case "SelfSubjectAccessReview":
    case "SubjectAccessReview":
    case "LocalSubjectAccessReview": {
      const attributes = accessAttributes(spec, review.kind);
      if (Array.isArray(attributes)) throw fail(attributes);
      let user = options.user;
      if (review.kind !== "SelfSubjectAccessReview") {
        if (str(spec.user) === "" && strings(spec.groups).length === 0) {
          throw fail([
            fieldInvalid("spec.user", "", "at least one of user or group must be specified"),
          ]);
        }
        user = { name: str(spec.user), groups: strings(spec.groups) };
        if (str(spec.uid)) user.uid = str(spec.uid);
      }
      if (review.kind === "LocalSubjectAccessReview") {
        const ns = str(metadata.namespace) || r.namespace;
        if (!attributes.resourceRequest) {
          throw fail([
            fieldInvalid("spec.nonResourceAttributes", "", "disallowed on this kind of request"),
          ]);
        }
        if (attributes.namespace !== ns) {
          throw fail([
            fieldInvalid(
              "spec.resourceAttributes.namespace",
              attributes.namespace,
              "must match metadata.namespace",
            ),
          ]);
        }
      }
      const decision = options.authorizer.authorize(user, attributes);
      status = { allowed: decision.allowed };
      if (decision.reason) status.reason = decision.reason;
      break;
    }
    case "SelfSubjectRulesReview": {
      const namespace = str(spec.namespace);
      const { rules, errors } = options.authorizer.rulesFor(options.user, namespace);
      status = { ...splitRules(rules), incomplete: errors.length > 0 };
      if (errors.length > 0) status.evaluationError = errors.join(", ");
      break;
    }
    case "SelfSubjectReview":
      status = { userInfo: userInfoOf(options.user) };
      break;
    default: {
      const token = str(spec.token);
      const answer = token ? options.tokens(token) : undefined;
      if (answer && "user" in answer) {
        status = { authenticated: true, user: userInfoOf(answer.user) };
        const audiences = strings(spec.audiences);
        if (audiences.length > 0) status.audiences = audiences;
      } else {
        status = {
          user: {},
          error: answer && "error" in answer ? answer.error : "invalid bearer token",
        };
      }
    }
  }
  sendJson(res, 201, {
    kind: review.kind,
    apiVersion: `${review.group}/v1`,
    metadata: { ...metadata, creationTimestamp: null },
    spec,
    status,
  });
  return true;
}
