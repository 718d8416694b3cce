/**
 * networking.k8s.io/v1 ingressclasses (cluster-scoped): the `parameters.scope` default, kube's
 * validation (a domain-prefixed controller name of at most 250 characters, immutable; the
 * parameters reference and its scope) and the `kubectl get ingressclass` columns (NAME
 * CONTROLLER PARAMETERS AGE; 1.32 marks no default class in NAME).
 *
 * @module
 */
import { sinceTimestamp } from "../duration.ts";
import {
  type FieldError,
  fieldForbidden,
  fieldInvalid,
  fieldNotSupported,
  fieldRequired,
} from "../errors.ts";
import type { KubeObject } from "../types.ts";
import { isDNS1123Label, isDNS1123Subdomain } from "../validation.ts";
import { AGE, column, NAME } from "./_columns.ts";
import { fieldTooLong } from "./_errors.ts";
import { simpleValidators } from "./_simple.ts";
import { at, isObj, type Obj, str } from "./_util.ts";
import { nameIsDNSSubdomain, nameIsPathSegment } from "./meta.ts";
import type { KindStrategy } from "./types.ts";

/** The annotation that makes an IngressClass the one new Ingresses without a class get. */
export const DEFAULT_INGRESS_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class";

const MAX_CONTROLLER_LENGTH = 250;
const SCOPES = ["Cluster", "Namespace"];
const HTTP_PATH = "[A-Za-z0-9/\\-._~%!$&'()*+,;=:]+";
const httpPathRe = new RegExp(`^${HTTP_PATH}$`);

/** IsDomainPrefixedPath: `example.com/some/path`. */
function validateDomainPrefixedPath(value: string, path: string): FieldError[] {
  const slash = value.indexOf("/");
  const host = slash < 0 ? value : value.slice(0, slash);
  const rest = slash < 0 ? "" : value.slice(slash + 1);
  if (slash < 0 || host === "" || rest === "") {
    return [fieldInvalid(path, value, 'must be a domain-prefixed path (such as "acme.io/foo")')];
  }
  const errs = isDNS1123Subdomain(host).map((m) => fieldInvalid(path, host, m));
  if (!httpPathRe.test(rest)) {
    errs.push(
      fieldInvalid(path, rest, `Invalid path (regex used for validation is '${HTTP_PATH}')`),
    );
  }
  return errs;
}

function validateParameters(params: unknown, path: string): FieldError[] {
  if (!isObj(params)) return [];
  const errs: FieldError[] = [];
  if (typeof params.apiGroup === "string") {
    for (const m of isDNS1123Subdomain(params.apiGroup))
      errs.push(fieldInvalid(`${path}.apiGroup`, params.apiGroup, m));
  }
  for (const field of ["kind", "name"] as const) {
    const value = str(params[field]);
    if (value === "") errs.push(fieldRequired(`${path}.${field}`));
    else
      for (const m of nameIsPathSegment(value, false))
        errs.push(fieldInvalid(`${path}.${field}`, value, m));
  }
  const scope = params.scope;
  if (scope === undefined || scope === null) {
    errs.push(fieldRequired(`${path}.scope`));
    return errs;
  }
  if (!SCOPES.includes(str(scope))) {
    errs.push(fieldNotSupported(`${path}.scope`, scope, SCOPES));
    return errs;
  }
  const namespace = params.namespace;
  if (scope === "Namespace") {
    if (typeof namespace !== "string") {
      errs.push(fieldRequired(`${path}.namespace`, "`parameters.scope` is set to 'Namespace'"));
    } else {
      for (const m of isDNS1123Label(namespace))
        errs.push(fieldInvalid(`${path}.namespace`, namespace, m));
    }
  }
  if (scope === "Cluster" && namespace !== undefined && namespace !== null) {
    errs.push(fieldForbidden(`${path}.namespace`, "`parameters.scope` is set to 'Cluster'"));
  }
  return errs;
}

function validateIngressClassSpec(cls: KubeObject): FieldError[] {
  const spec: Obj = isObj(cls.spec) ? cls.spec : {};
  const errs: FieldError[] = [];
  const controller = str(spec.controller);
  if (controller === "") {
    errs.push(fieldRequired("spec.controller"));
  } else {
    if (controller.length > MAX_CONTROLLER_LENGTH)
      errs.push(fieldTooLong("spec.controller", MAX_CONTROLLER_LENGTH));
    errs.push(...validateDomainPrefixedPath(controller, "spec.controller"));
  }
  errs.push(...validateParameters(spec.parameters, "spec.parameters"));
  return errs;
}

export function isDefaultIngressClass(cls: KubeObject): boolean {
  return cls.metadata.annotations?.[DEFAULT_INGRESS_CLASS_ANNOTATION] === "true";
}

export const ingressClassStrategy: KindStrategy = {
  group: "networking.k8s.io",
  version: "v1",
  kind: "IngressClass",
  resource: "ingressclasses",
  singular: "ingressclass",
  namespaced: false,
  hasGeneration: true,
  hasStatus: false,
  applyDefaults(obj) {
    const params = at(obj, "spec", "parameters");
    if (isObj(params) && (params.scope === undefined || params.scope === null))
      params.scope = "Cluster";
  },
  ...simpleValidators({
    namespaced: false,
    nameRule: nameIsDNSSubdomain,
    spec: validateIngressClassSpec,
    update: (cls, old) => {
      const now = str(at(cls, "spec", "controller"));
      const before = str(at(old, "spec", "controller"));
      return now === before ? [] : [fieldInvalid("spec.controller", now, "field is immutable")];
    },
  }),
  columns: [
    NAME,
    column("Controller", "string", "Controller that is responsible for handling this class"),
    column("Parameters", "string", "A reference to a resource with additional parameters"),
    AGE,
  ],
  row(cls, now) {
    const params = at(cls, "spec", "parameters");
    let parameters = "<none>";
    if (isObj(params)) {
      parameters = str(params.kind);
      if (typeof params.apiGroup === "string") parameters += `.${params.apiGroup}`;
      parameters += `/${str(params.name)}`;
    }
    return [
      cls.metadata.name ?? "",
      str(at(cls, "spec", "controller")),
      parameters,
      sinceTimestamp(cls.metadata.creationTimestamp, now),
    ];
  },
};
