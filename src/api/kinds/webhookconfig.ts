/**
 * admissionregistration.k8s.io/v1 MutatingWebhookConfiguration and
 * ValidatingWebhookConfiguration (cluster-scoped): kube's defaults (failurePolicy Fail,
 * matchPolicy Equivalent, empty selectors, rule scope `*`, service port 443, timeout 10 s,
 * reinvocationPolicy Never), kube's validation messages and the `kubectl get` columns
 * (NAME WEBHOOKS AGE). What calling them means lives in `apiserver/webhooks`.
 *
 * @module
 */
import { sinceTimestamp } from "../duration.ts";
import {
  type FieldError,
  fieldDuplicate,
  fieldInvalid,
  fieldNotSupported,
  fieldRequired,
} from "../errors.ts";
import type { KubeObject } from "../types.ts";
import { isDNS1123Subdomain, isQualifiedName } from "../validation.ts";
import { AGE, column, NAME } from "./_columns.ts";
import { fieldTooMany } from "./_errors.ts";
import { validateLabelSelector } from "./_selector.ts";
import { simpleValidators } from "./_simple.ts";
import { arr, isObj, type Obj, objs, setDefault, str } from "./_util.ts";
import { nameIsDNSSubdomain } from "./meta.ts";
import type { KindStrategy } from "./types.ts";

const OPERATIONS = ["*", "CONNECT", "CREATE", "DELETE", "UPDATE"];
const SCOPES = ["*", "Cluster", "Namespaced"];
export const FAILURE_POLICIES = ["Fail", "Ignore"];
export const MATCH_POLICIES = ["Equivalent", "Exact"];
const SIDE_EFFECTS = ["None", "NoneOnDryRun"];
const REVIEW_VERSIONS = ["v1", "v1beta1"];
const REINVOCATION = ["IfNeeded", "Never"];

function defaultWebhook(hook: Obj, mutating: boolean): void {
  setDefault(hook, "failurePolicy", "Fail");
  setDefault(hook, "matchPolicy", "Equivalent");
  setDefault(hook, "namespaceSelector", {});
  setDefault(hook, "objectSelector", {});
  setDefault(hook, "timeoutSeconds", 10);
  if (mutating) setDefault(hook, "reinvocationPolicy", "Never");
  for (const rule of objs(hook.rules)) setDefault(rule, "scope", "*");
  const service = isObj(hook.clientConfig) ? hook.clientConfig.service : undefined;
  if (isObj(service)) setDefault(service, "port", 443);
}

/** `*` alone or values without `*`, each non-empty. */
function validateList(
  values: unknown,
  path: string,
  what: string,
  each?: (v: string, p: string) => FieldError[],
): FieldError[] {
  const list = arr(values).map(str);
  if (list.length === 0) return [fieldRequired(path)];
  const errs: FieldError[] = [];
  if (list.length > 1 && list.includes("*"))
    errs.push(fieldInvalid(path, list, `if '*' is present, must not specify other ${what}`));
  list.forEach((v, i) => {
    if (each) errs.push(...each(v, `${path}[${i}]`));
  });
  return errs;
}

function validateResources(values: unknown, path: string): FieldError[] {
  const list = arr(values).map(str);
  if (list.length === 0) return [fieldRequired(path)];
  const errs: FieldError[] = [];
  const subresources = new Map<string, Set<string>>();
  list.forEach((r, i) => {
    if (r === "") {
      errs.push(fieldRequired(`${path}[${i}]`));
      return;
    }
    const [resource = "", sub, ...more] = r.split("/");
    if (more.length > 0) {
      errs.push(fieldInvalid(`${path}[${i}]`, r, "must not have more than one '/'"));
      return;
    }
    const subs = subresources.get(resource) ?? new Set<string>();
    subs.add(sub ?? "");
    subresources.set(resource, subs);
  });
  if (subresources.has("*") && subresources.get("*")?.has("*") && list.length > 1)
    errs.push(fieldInvalid(path, list, "if '*/*' is present, must not specify other resources"));
  if (subresources.get("*")?.has("") && list.some((r) => r !== "*" && !r.includes("/")))
    errs.push(
      fieldInvalid(
        path,
        list,
        "if '*' is present, must not specify other resources without subresources",
      ),
    );
  return errs;
}

/** A RuleWithOperations (webhook rules, policies' resourceRules). */
export function validateRule(rule: Obj, path: string): FieldError[] {
  const errs = validateList(rule.operations, `${path}.operations`, "operations", (op, p) =>
    OPERATIONS.includes(op) ? [] : [fieldNotSupported(p, op, OPERATIONS)],
  );
  errs.push(...validateList(rule.apiGroups, `${path}.apiGroups`, "API groups"));
  errs.push(
    ...validateList(rule.apiVersions, `${path}.apiVersions`, "API versions", (v, p) =>
      v === "" ? [fieldRequired(p)] : [],
    ),
  );
  errs.push(...validateResources(rule.resources, `${path}.resources`));
  if (rule.scope !== undefined && !SCOPES.includes(str(rule.scope)))
    errs.push(fieldNotSupported(`${path}.scope`, rule.scope, SCOPES));
  return errs;
}

function validateUrl(value: string, path: string): FieldError[] {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return [fieldInvalid(path, value, `parse "${value}": invalid URI for request`)];
  }
  const errs: FieldError[] = [];
  if (url.protocol !== "https:")
    errs.push(
      fieldInvalid(path, url.protocol.replace(/:$/, ""), "'https' is the only allowed URL scheme"),
    );
  if (url.host === "") errs.push(fieldInvalid(path, url.host, "host must be specified"));
  if (url.username || url.password)
    errs.push(fieldInvalid(path, url.username, "user information is not permitted in the URL"));
  if (url.hash)
    errs.push(fieldInvalid(path, url.hash.slice(1), "fragments are not permitted in the URL"));
  if (url.search)
    errs.push(
      fieldInvalid(path, url.search.slice(1), "query parameters are not permitted in the URL"),
    );
  return errs;
}

function validateClientConfig(config: unknown, path: string): FieldError[] {
  const cc: Obj = isObj(config) ? config : {};
  const hasUrl = typeof cc.url === "string";
  const hasService = isObj(cc.service);
  if (hasUrl === hasService)
    return [fieldRequired(path, "exactly one of url or service is required")];
  if (hasUrl) return validateUrl(str(cc.url), `${path}.url`);
  const svc = cc.service as Obj;
  const errs: FieldError[] = [];
  const sp = `${path}.service`;
  if (str(svc.name) === "") errs.push(fieldRequired(`${sp}.name`, "service name is required"));
  if (str(svc.namespace) === "")
    errs.push(fieldRequired(`${sp}.namespace`, "service namespace is required"));
  if (svc.path !== undefined && svc.path !== null) {
    const p = str(svc.path);
    if (!p.startsWith("/")) errs.push(fieldInvalid(`${sp}.path`, p, "must start with a '/'"));
  }
  const port = svc.port;
  if (typeof port === "number" && (port < 1 || port > 65535 || !Number.isInteger(port)))
    errs.push(
      fieldInvalid(`${sp}.port`, port, "port is not valid: must be between 1 and 65535, inclusive"),
    );
  return errs;
}

function validateWebhook(hook: Obj, path: string, mutating: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const name = str(hook.name);
  if (name === "") errs.push(fieldRequired(`${path}.name`));
  else {
    for (const m of isDNS1123Subdomain(name)) errs.push(fieldInvalid(`${path}.name`, name, m));
    if (name.split(".").length < 3)
      errs.push(
        fieldInvalid(
          `${path}.name`,
          name,
          "should be a domain with at least three segments separated by dots",
        ),
      );
  }
  objs(hook.rules).forEach((rule, i) => {
    errs.push(...validateRule(rule, `${path}.rules[${i}]`));
  });
  if (hook.failurePolicy !== undefined && !FAILURE_POLICIES.includes(str(hook.failurePolicy)))
    errs.push(fieldNotSupported(`${path}.failurePolicy`, hook.failurePolicy, FAILURE_POLICIES));
  if (hook.matchPolicy !== undefined && !MATCH_POLICIES.includes(str(hook.matchPolicy)))
    errs.push(fieldNotSupported(`${path}.matchPolicy`, hook.matchPolicy, MATCH_POLICIES));
  if (hook.sideEffects === undefined || hook.sideEffects === null)
    errs.push(
      fieldRequired(`${path}.sideEffects`, `must specify one of ${SIDE_EFFECTS.join(", ")}`),
    );
  else if (!SIDE_EFFECTS.includes(str(hook.sideEffects)))
    errs.push(fieldNotSupported(`${path}.sideEffects`, hook.sideEffects, SIDE_EFFECTS));
  const timeout = hook.timeoutSeconds;
  if (typeof timeout === "number" && (timeout < 1 || timeout > 30))
    errs.push(
      fieldInvalid(
        `${path}.timeoutSeconds`,
        timeout,
        "the timeout value must be between 1 and 30 seconds",
      ),
    );
  const versions = arr(hook.admissionReviewVersions).map(str);
  const vp = `${path}.admissionReviewVersions`;
  if (versions.length === 0) {
    errs.push(fieldRequired(vp, `must specify one of ${REVIEW_VERSIONS.join(", ")}`));
  } else {
    const seen = new Set<string>();
    versions.forEach((v, i) => {
      if (seen.has(v)) errs.push(fieldDuplicate(`${vp}[${i}]`, v));
      seen.add(v);
      for (const m of isDNS1123Subdomain(v)) errs.push(fieldInvalid(`${vp}[${i}]`, v, m));
    });
    if (!versions.some((v) => REVIEW_VERSIONS.includes(v)))
      errs.push(
        fieldInvalid(vp, versions, `must include at least one of ${REVIEW_VERSIONS.join(", ")}`),
      );
  }
  errs.push(...validateLabelSelector(hook.namespaceSelector, `${path}.namespaceSelector`));
  errs.push(...validateLabelSelector(hook.objectSelector, `${path}.objectSelector`));
  errs.push(...validateClientConfig(hook.clientConfig, `${path}.clientConfig`));
  if (
    mutating &&
    hook.reinvocationPolicy !== undefined &&
    !REINVOCATION.includes(str(hook.reinvocationPolicy))
  )
    errs.push(
      fieldNotSupported(`${path}.reinvocationPolicy`, hook.reinvocationPolicy, REINVOCATION),
    );
  errs.push(...validateMatchConditions(hook.matchConditions, `${path}.matchConditions`));
  return errs;
}

/**
 * matchConditions without their CEL (compiled by the API server, which has it): at most 64,
 * names required, qualified and unique, expressions required.
 */
export function validateMatchConditions(conditions: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const list = objs(conditions);
  if (list.length > 64) errs.push(fieldTooMany(path, list.length, 64));
  const names = new Set<string>();
  list.forEach((c, i) => {
    const cp = `${path}[${i}]`;
    if (str(c.expression).trim() === "") errs.push(fieldRequired(`${cp}.expression`));
    const name = str(c.name);
    if (name === "") errs.push(fieldRequired(`${cp}.name`));
    else for (const m of isQualifiedName(name)) errs.push(fieldInvalid(`${cp}.name`, name, m));
    if (name !== "" && names.has(name)) errs.push(fieldDuplicate(`${cp}.name`, name));
    names.add(name);
  });
  return errs;
}

function validateWebhooks(cfg: KubeObject, mutating: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const names = new Set<string>();
  objs((cfg as Obj).webhooks).forEach((hook, i) => {
    const name = str(hook.name);
    if (name !== "" && names.has(name)) errs.push(fieldDuplicate(`webhooks[${i}].name`, name));
    names.add(name);
    errs.push(...validateWebhook(hook, `webhooks[${i}]`, mutating));
  });
  return errs;
}

function webhookConfigStrategy(kind: string, resource: string, mutating: boolean): KindStrategy {
  return {
    group: "admissionregistration.k8s.io",
    version: "v1",
    kind,
    resource,
    singular: kind.toLowerCase(),
    namespaced: false,
    hasGeneration: true,
    hasStatus: false,
    applyDefaults(obj) {
      for (const hook of objs((obj as Obj).webhooks)) defaultWebhook(hook, mutating);
    },
    generationChanged: (obj, old) =>
      JSON.stringify((obj as Obj).webhooks) !== JSON.stringify((old as Obj).webhooks),
    ...simpleValidators({
      namespaced: false,
      nameRule: nameIsDNSSubdomain,
      spec: (cfg) => validateWebhooks(cfg, mutating),
    }),
    columns: [
      NAME,
      column(
        "Webhooks",
        "integer",
        "Webhooks is a list of webhooks and the affected resources and operations.",
      ),
      AGE,
    ],
    row(cfg, now) {
      return [
        cfg.metadata.name ?? "",
        objs((cfg as Obj).webhooks).length,
        sinceTimestamp(cfg.metadata.creationTimestamp, now),
      ];
    },
  };
}

export const mutatingWebhookConfigurationStrategy = webhookConfigStrategy(
  "MutatingWebhookConfiguration",
  "mutatingwebhookconfigurations",
  true,
);
export const validatingWebhookConfigurationStrategy = webhookConfigStrategy(
  "ValidatingWebhookConfiguration",
  "validatingwebhookconfigurations",
  false,
);
