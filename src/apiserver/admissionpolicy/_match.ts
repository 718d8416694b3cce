/**
 * Whether a ValidatingAdmissionPolicy's matchConstraints (or a binding's matchResources) cover
 * a request, as kube's policy matcher decides: the namespace selector (namespaced objects; a
 * Namespace by its own labels; cluster-scoped objects always pass), the object selector (new or
 * old object's labels), excludeResourceRules (any match excludes), then resourceRules (with
 * matchPolicy Equivalent, a rule naming another served version of the resource matches, and
 * the expressions see the object in that version); a rule's resourceNames limit it to those
 * names. Pure: the caller supplies the namespace's labels and the equivalent versions.
 *
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import {
  type Gvr,
  type MatchTarget,
  matchingVersion,
  namespaceSelected,
  objectSelected,
  type Rule,
} from "../webhooks/index.ts";

type Selector = { matchLabels?: Record<string, string>; matchExpressions?: never[] };

export interface NamedRule extends Rule {
  resourceNames?: string[];
}

export interface MatchResources {
  resourceRules?: NamedRule[];
  excludeResourceRules?: NamedRule[];
  namespaceSelector?: Selector;
  objectSelector?: Selector;
  matchPolicy?: "Equivalent" | "Exact";
}

export interface MatchRequest {
  target: MatchTarget;
  name: string;
  obj: KubeObject | undefined;
  old: KubeObject | undefined;
  /** The labels of the request's namespace (namespaced requests). */
  namespaceLabels: () => Record<string, string> | undefined;
  /** Every served version of the request's resource. */
  equivalents: readonly Gvr[];
  isNamespace: boolean;
}

function named(rules: NamedRule[] | undefined, name: string): NamedRule[] {
  return (rules ?? []).filter((r) => !r.resourceNames?.length || r.resourceNames.includes(name));
}

function ruleVersion(m: MatchResources, rules: NamedRule[], req: MatchRequest): Gvr | undefined {
  return matchingVersion(
    { name: "", clientConfig: {}, rules, matchPolicy: m.matchPolicy ?? "Equivalent" },
    req.target,
    req.equivalents,
  );
}

/**
 * The version the request is seen in when `m` covers it, else undefined. `emptyRulesMatch`:
 * no resourceRules match everything (a binding's matchResources), else nothing.
 */
export function matchResources(
  m: MatchResources,
  req: MatchRequest,
  emptyRulesMatch: boolean,
): Gvr | undefined {
  const hook = {
    name: "",
    clientConfig: {},
    namespaceSelector: m.namespaceSelector,
    objectSelector: m.objectSelector,
  } as Parameters<typeof namespaceSelected>[0];
  if (req.isNamespace) {
    if (!namespaceSelected(hook, (req.obj ?? req.old)?.metadata.labels)) return undefined;
  } else if (req.target.namespaced) {
    if (!namespaceSelected(hook, req.namespaceLabels())) return undefined;
  }
  if (!objectSelected(hook, req.obj, req.old)) return undefined;
  const excluded = named(m.excludeResourceRules, req.name);
  if (excluded.length && ruleVersion(m, excluded, req)) return undefined;
  const { group, version, resource } = req.target;
  if (!m.resourceRules?.length) return emptyRulesMatch ? { group, version, resource } : undefined;
  return ruleVersion(m, named(m.resourceRules, req.name), req);
}
