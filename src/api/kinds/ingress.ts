/**
 * networking.k8s.io/v1 ingresses: validation worded as kube-apiserver's (`ValidateIngressCreate`,
 * `ValidateIngressUpdate`, `ValidateIngressStatusUpdate` of Kubernetes 1.32), a cleared status
 * on create, and the `kubectl get ingress` columns (NAME CLASS HOSTS ADDRESS PORTS AGE).
 *
 * v1 has no Ingress defaults (`pathType` is required). Updates keep accepting what an older
 * server stored: a TLS secret name or a wildcard-host rule that no longer validates is allowed
 * when the stored object already had one, as upstream does.
 *
 * One difference in the printer: PORTS shows the ports in `status.loadBalancer.ingress[].ports`
 * when the controller wrote any (loopkube's does when it could not bind 80/443); otherwise it is
 * kube's "80" or "80, 443".
 *
 * @module
 */
import { isIP } from "node:net";
import { sinceTimestamp } from "../duration.ts";
import { type FieldError, fieldInvalid, fieldNotSupported, fieldRequired } from "../errors.ts";
import type { KubeObject } from "../types.ts";
import { isDNS1035Label, isDNS1123Subdomain, isWildcardDNS1123Subdomain } from "../validation.ts";
import { AGE, column, NAME } from "./_columns.ts";
import { invalidRaw } from "./_errors.ts";
import { arr, at, isObj, type Obj, objs, str } from "./_util.ts";
import {
  nameIsDNSSubdomain,
  nameIsPathSegment,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from "./meta.ts";
import { isValidPortName, isValidPortNum } from "./pod_validation.ts";
import type { KindStrategy } from "./types.ts";

/** The annotation older manifests name their class with; `spec.ingressClassName` replaces it. */
export const INGRESS_CLASS_ANNOTATION = "kubernetes.io/ingress.class";

const PATH_TYPES = ["Exact", "ImplementationSpecific", "Prefix"];
const INVALID_PATH_SEQUENCES = ["//", "/./", "/../", "%2f", "%2F"];
const INVALID_PATH_SUFFIXES = ["/..", "/."];

interface IngressOptions {
  allowInvalidSecretName: boolean;
  allowInvalidWildcardHostRule: boolean;
}

/** validateIngressTypedLocalObjectReference (a `resource` backend). */
function validateTypedLocalObjectReference(ref: Obj, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (typeof ref.apiGroup === "string") {
    for (const m of isDNS1123Subdomain(ref.apiGroup))
      errs.push(fieldInvalid(`${path}.apiGroup`, ref.apiGroup, m));
  }
  for (const field of ["kind", "name"] as const) {
    const value = str(ref[field]);
    if (value === "") errs.push(fieldRequired(`${path}.${field}`));
    else
      for (const m of nameIsPathSegment(value, false))
        errs.push(fieldInvalid(`${path}.${field}`, value, m));
  }
  return errs;
}

/** validateIngressBackend: exactly one of service and resource; a service port by name or number. */
function validateBackend(backend: unknown, path: string): FieldError[] {
  const b: Obj = isObj(backend) ? backend : {};
  const hasResource = isObj(b.resource);
  const hasService = isObj(b.service);
  if (hasResource && hasService) {
    return [fieldInvalid(path, "", "cannot set both resource and service backends")];
  }
  if (hasResource) return validateTypedLocalObjectReference(b.resource as Obj, `${path}.resource`);
  if (!hasService) return [fieldInvalid(path, "", "resource or service backend is required")];
  const errs: FieldError[] = [];
  const service = b.service as Obj;
  const name = str(service.name);
  if (name === "") errs.push(fieldRequired(`${path}.service.name`));
  else
    for (const m of isDNS1035Label(name)) errs.push(fieldInvalid(`${path}.service.name`, name, m));
  const portName = str(at(service, "port", "name"));
  const portNumber = at(service, "port", "number");
  const hasNumber = typeof portNumber === "number" && portNumber !== 0;
  if (portName !== "" && hasNumber) {
    errs.push(fieldInvalid(path, "", "cannot set both port name & port number"));
  } else if (portName !== "") {
    for (const m of isValidPortName(portName))
      errs.push(fieldInvalid(`${path}.service.port.name`, portName, m));
  } else if (hasNumber) {
    for (const m of isValidPortNum(portNumber))
      errs.push(fieldInvalid(`${path}.service.port.number`, portNumber, m));
  } else {
    errs.push(fieldRequired(path, "port name or number is required"));
  }
  return errs;
}

function validatePath(p: Obj, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const pathType = p.pathType;
  if (pathType === undefined || pathType === null) {
    return [fieldRequired(`${path}.pathType`, "pathType must be specified")];
  }
  const value = str(p.path);
  switch (pathType) {
    case "Exact":
    case "Prefix":
      if (!value.startsWith("/"))
        errs.push(fieldInvalid(`${path}.path`, value, "must be an absolute path"));
      for (const seq of INVALID_PATH_SEQUENCES) {
        if (value.includes(seq))
          errs.push(fieldInvalid(`${path}.path`, value, `must not contain '${seq}'`));
      }
      for (const suffix of INVALID_PATH_SUFFIXES) {
        if (value.endsWith(suffix))
          errs.push(fieldInvalid(`${path}.path`, value, `cannot end with '${suffix}'`));
      }
      break;
    case "ImplementationSpecific":
      if (value !== "" && !value.startsWith("/"))
        errs.push(fieldInvalid(`${path}.path`, value, "must be an absolute path"));
      break;
    default:
      errs.push(fieldNotSupported(`${path}.pathType`, pathType, PATH_TYPES));
  }
  errs.push(...validateBackend(p.backend, `${path}.backend`));
  return errs;
}

/** validateIngressRuleValue: an `http` value needs at least one path. */
function validateRuleValue(rule: Obj, path: string): FieldError[] {
  if (!isObj(rule.http)) return [];
  const paths = objs(rule.http.paths);
  const errs: FieldError[] = [];
  if (paths.length === 0) errs.push(fieldRequired(`${path}.http.paths`));
  paths.forEach((p, i) => {
    errs.push(...validatePath(p, `${path}.http.paths[${i}]`));
  });
  return errs;
}

function validateHost(host: string, path: string): FieldError[] {
  if (host.includes("*"))
    return isWildcardDNS1123Subdomain(host).map((m) => fieldInvalid(path, host, m));
  return isDNS1123Subdomain(host).map((m) => fieldInvalid(path, host, m));
}

function validateRules(rules: Obj[], options: IngressOptions): FieldError[] {
  const errs: FieldError[] = [];
  rules.forEach((rule, i) => {
    const path = `spec.rules[${i}]`;
    const host = str(rule.host);
    if (host !== "" && isIP(host) !== 0)
      errs.push(fieldInvalid(`${path}.host`, host, "must be a DNS name, not an IP address"));
    if (host !== "") errs.push(...validateHost(host, `${path}.host`));
    const wildcard = host.includes("*");
    if (!wildcard || !options.allowInvalidWildcardHostRule)
      errs.push(...validateRuleValue(rule, path));
  });
  return errs;
}

function validateTls(spec: Obj, options: IngressOptions): FieldError[] {
  const errs: FieldError[] = [];
  objs(spec.tls).forEach((tls, i) => {
    arr(tls.hosts).forEach((h, j) => {
      errs.push(...validateHost(str(h), `spec.tls[${i}].hosts[${j}]`));
    });
    const secret = str(tls.secretName);
    if (!options.allowInvalidSecretName && secret !== "") {
      for (const m of isDNS1123Subdomain(secret))
        errs.push(fieldInvalid(`spec.tls[${i}].secretName`, secret, m));
    }
  });
  return errs;
}

/** ValidateIngressSpec. */
export function validateIngressSpec(spec: unknown, options: IngressOptions): FieldError[] {
  const s: Obj = isObj(spec) ? spec : {};
  const errs: FieldError[] = [];
  const rules = objs(s.rules);
  const hasDefault = isObj(s.defaultBackend);
  if (rules.length === 0 && !hasDefault) {
    // Go renders the rules slice with %#v: nil when absent, empty when given as [].
    const rendered = Array.isArray(s.rules)
      ? "[]networking.IngressRule{}"
      : "[]networking.IngressRule(nil)";
    errs.push(invalidRaw("spec", rendered, "either `defaultBackend` or `rules` must be specified"));
  }
  if (hasDefault) errs.push(...validateBackend(s.defaultBackend, "spec.defaultBackend"));
  errs.push(...validateRules(rules, options));
  errs.push(...validateTls(s, options));
  if (typeof s.ingressClassName === "string") {
    for (const m of isDNS1123Subdomain(s.ingressClassName))
      errs.push(fieldInvalid("spec.ingressClassName", s.ingressClassName, m));
  }
  return errs;
}

function hasInvalidSecretName(old: KubeObject): boolean {
  return objs(at(old, "spec", "tls")).some((t) => {
    const name = str(t.secretName);
    return name !== "" && isDNS1123Subdomain(name).length > 0;
  });
}

function hasInvalidWildcardRule(old: KubeObject): boolean {
  return objs(at(old, "spec", "rules")).some(
    (r) => str(r.host).includes("*") && validateRuleValue(r, "").length > 0,
  );
}

/** ValidateIngressLoadBalancerStatus: IPs and host names of `status.loadBalancer.ingress`. */
function validateStatus(ingress: KubeObject, old: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const before = new Set(objs(at(old, "status", "loadBalancer", "ingress")).map((i) => i.ip));
  objs(at(ingress, "status", "loadBalancer", "ingress")).forEach((point, i) => {
    const path = `status.loadBalancer.ingress[${i}]`;
    const ip = str(point.ip);
    if (ip !== "" && isIP(ip) === 0 && !before.has(ip)) {
      errs.push(
        fieldInvalid(
          `${path}.ip`,
          ip,
          "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
        ),
      );
    }
    const hostname = str(point.hostname);
    if (hostname !== "") {
      for (const m of isDNS1123Subdomain(hostname))
        errs.push(fieldInvalid(`${path}.hostname`, hostname, m));
      if (isIP(hostname) !== 0)
        errs.push(
          fieldInvalid(`${path}.hostname`, hostname, "must be a DNS name, not an IP address"),
        );
    }
  });
  return errs;
}

/** printers.go formatHosts: up to three hosts, then `+ N more...`; `*` when none names a host. */
function formatHosts(rules: Obj[]): string {
  const list: string[] = [];
  const max = 3;
  let more = false;
  for (const rule of rules) {
    if (list.length === max) more = true;
    const host = str(rule.host);
    if (!more && host !== "") list.push(host);
  }
  if (list.length === 0) return "*";
  const joined = list.join(",");
  return more ? `${joined} + ${rules.length - max} more...` : joined;
}

/**
 * ingressLoadBalancerStatusStringer as kube-apiserver calls it: its table convertor always prints
 * wide, so the 16-character clipping of client-side printing never applies.
 */
function formatAddress(ingress: KubeObject): string {
  const set = new Set<string>();
  for (const point of objs(at(ingress, "status", "loadBalancer", "ingress"))) {
    const value = str(point.ip) || str(point.hostname);
    if (value !== "") set.add(value);
  }
  return [...set].sort().join(",");
}

function formatPorts(ingress: KubeObject): string {
  const written = new Set<number>();
  for (const point of objs(at(ingress, "status", "loadBalancer", "ingress"))) {
    for (const p of objs(point.ports)) if (typeof p.port === "number") written.add(p.port);
  }
  if (written.size > 0) return [...written].join(", ");
  return objs(at(ingress, "spec", "tls")).length > 0 ? "80, 443" : "80";
}

export const ingressStrategy: KindStrategy = {
  group: "networking.k8s.io",
  version: "v1",
  kind: "Ingress",
  resource: "ingresses",
  singular: "ingress",
  shortNames: ["ing"],
  namespaced: true,
  hasGeneration: true,
  hasStatus: true,
  applyDefaults() {},
  prepareForCreate(obj) {
    obj.status = { loadBalancer: {} };
  },
  validate(obj) {
    const errs = [
      ...validateObjectMeta(obj.metadata, { namespaced: true, nameRule: nameIsDNSSubdomain }),
      ...validateIngressSpec(obj.spec, {
        allowInvalidSecretName: false,
        allowInvalidWildcardHostRule: false,
      }),
    ];
    const annotation = obj.metadata.annotations?.[INGRESS_CLASS_ANNOTATION];
    const className = at(obj, "spec", "ingressClassName");
    if (annotation !== undefined && typeof className === "string" && annotation !== className) {
      errs.push(
        fieldInvalid(
          `annotations.${INGRESS_CLASS_ANNOTATION}`,
          annotation,
          "must match `ingressClassName` when both are specified",
        ),
      );
    }
    return errs;
  },
  validateUpdate(obj, old) {
    return [
      ...validateObjectMetaUpdate(obj.metadata, old.metadata),
      ...validateIngressSpec(obj.spec, {
        allowInvalidSecretName: hasInvalidSecretName(old),
        allowInvalidWildcardHostRule: hasInvalidWildcardRule(old),
      }),
      ...validateStatus(obj, old),
    ];
  },
  columns: [
    NAME,
    column(
      "Class",
      "string",
      "The name of the IngressClass resource that should be used for ingress.",
    ),
    column(
      "Hosts",
      "string",
      "Hosts that incoming requests are matched against before the ingress rule",
    ),
    column(
      "Address",
      "string",
      "Address is a list containing ingress points for the load-balancer",
    ),
    column("Ports", "string", "Ports of TLS configurations that open"),
    AGE,
  ],
  row(ingress, now) {
    const className = at(ingress, "spec", "ingressClassName");
    return [
      ingress.metadata.name ?? "",
      typeof className === "string" ? className : "<none>",
      formatHosts(objs(at(ingress, "spec", "rules"))),
      formatAddress(ingress),
      formatPorts(ingress),
      sinceTimestamp(ingress.metadata.creationTimestamp, now),
    ];
  },
};
