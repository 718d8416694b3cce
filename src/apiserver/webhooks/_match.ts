/**
 * Which webhooks a request reaches, as kube-apiserver's webhook dispatchers decide: a rule
 * matches the operation, group, version, resource (with `*`, `*\/*`, `pods/*`, `*\/status`
 * forms) and scope; with matchPolicy Equivalent a rule naming another served version of the
 * same resource matches too (the object is then sent in that version); then the namespace
 * selector (namespaced objects, and a Namespace by its own labels) and the object selector
 * (the new or the old object's labels). Pure: the caller supplies the namespace's labels and
 * the equivalent versions.
 *
 * @module
 */
import { matches, selectorFromLabelSelector } from "../../api/labels.ts";
import type { KubeObject } from "../../api/types.ts";

export type Operation = "CREATE" | "UPDATE" | "DELETE" | "CONNECT";

export interface Rule {
  operations?: string[];
  apiGroups?: string[];
  apiVersions?: string[];
  resources?: string[];
  scope?: string;
}

/** One webhook of a configuration, as stored (defaults applied). */
export interface Webhook {
  name: string;
  clientConfig: {
    url?: string;
    service?: { namespace: string; name: string; path?: string; port?: number };
    caBundle?: string;
  };
  rules?: Rule[];
  failurePolicy?: "Fail" | "Ignore";
  matchPolicy?: "Equivalent" | "Exact";
  namespaceSelector?: { matchLabels?: Record<string, string>; matchExpressions?: never[] };
  objectSelector?: { matchLabels?: Record<string, string>; matchExpressions?: never[] };
  sideEffects?: string;
  timeoutSeconds?: number;
  admissionReviewVersions?: string[];
  reinvocationPolicy?: "Never" | "IfNeeded";
  matchConditions?: Array<{ name: string; expression: string }>;
}

export interface Gvr {
  group: string;
  version: string;
  resource: string;
}

/** What a rule is matched against. */
export interface MatchTarget extends Gvr {
  operation: Operation;
  subresource: string;
  namespaced: boolean;
}

function listMatches(list: string[] | undefined, value: string): boolean {
  return (list ?? []).some((v) => v === "*" || v === value);
}

function resourceMatches(list: string[] | undefined, resource: string, sub: string): boolean {
  const full = sub ? `${resource}/${sub}` : resource;
  for (const r of list ?? []) {
    if (r === "*/*" || r === full) return true;
    if (r === "*" && sub === "") return true;
    const [res, rsub] = r.split("/");
    if (rsub === "*" && res === resource) return true;
    if (res === "*" && rsub === sub && sub !== "") return true;
  }
  return false;
}

/** Whether one rule covers the request (RuleWithOperations' semantics). */
export function ruleMatches(rule: Rule, t: MatchTarget): boolean {
  if (!listMatches(rule.operations, t.operation)) return false;
  if (!listMatches(rule.apiGroups, t.group)) return false;
  if (!listMatches(rule.apiVersions, t.version)) return false;
  if (!resourceMatches(rule.resources, t.resource, t.subresource)) return false;
  const scope = rule.scope ?? "*";
  if (scope === "Cluster" && t.namespaced) return false;
  if (scope === "Namespaced" && !t.namespaced) return false;
  return true;
}

/**
 * The version of the resource the webhook is to see the request in: the request's own when a
 * rule names it, else (matchPolicy Equivalent) the first equivalent version a rule names, else
 * undefined (the webhook is not called).
 */
export function matchingVersion(
  hook: Webhook,
  t: MatchTarget,
  equivalents: readonly Gvr[],
): Gvr | undefined {
  const rules = hook.rules ?? [];
  if (rules.some((r) => ruleMatches(r, t)))
    return { group: t.group, version: t.version, resource: t.resource };
  if ((hook.matchPolicy ?? "Equivalent") !== "Equivalent") return undefined;
  for (const gvr of equivalents) {
    if (gvr.version === t.version && gvr.group === t.group && gvr.resource === t.resource) continue;
    const other = { ...t, ...gvr };
    if (rules.some((r) => ruleMatches(r, other))) return gvr;
  }
  return undefined;
}

/** objectSelector: the new object's or the old object's labels match. */
export function objectSelected(
  hook: Webhook,
  obj: KubeObject | undefined,
  old: KubeObject | undefined,
): boolean {
  const sel = hook.objectSelector;
  if (!sel || (Object.keys(sel.matchLabels ?? {}).length === 0 && !sel.matchExpressions?.length))
    return true;
  const selector = selectorFromLabelSelector(sel);
  return (
    (obj !== undefined && matches(selector, obj.metadata?.labels)) ||
    (old !== undefined && matches(selector, old.metadata?.labels))
  );
}

/** Whether the namespace selector is empty (everything), so no namespace needs looking up. */
export function selectsEveryNamespace(hook: Webhook): boolean {
  const sel = hook.namespaceSelector;
  return !sel || (Object.keys(sel.matchLabels ?? {}).length === 0 && !sel.matchExpressions?.length);
}

/** namespaceSelector against the labels of the request's namespace. */
export function namespaceSelected(
  hook: Webhook,
  labels: Record<string, string> | undefined,
): boolean {
  if (selectsEveryNamespace(hook)) return true;
  return matches(selectorFromLabelSelector(hook.namespaceSelector), labels);
}
