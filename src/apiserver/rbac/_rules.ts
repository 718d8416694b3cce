/**
 * What one RBAC rule allows, as kube's `rbac/v1` helpers decide it: a verb, API group and resource
 * match when the rule lists it or `*`; a rule resource `*\/<sub>` matches that subresource of any
 * resource; `resourceNames` (when given) must hold the request's name, so they never match a list
 * or a create without a name; a non-resource URL matches exactly, by `*`, or by a prefix ending
 * in `*`. Pure and allocation-free on the hot path.
 *
 * @module
 */

import type { AuthzAttributes } from "../../api/authz.ts";

/** What a request asks to do (kube's `authorizer.Attributes`). */
export type Attributes = AuthzAttributes;

/** A PolicyRule as stored (fields may be absent or malformed). */
export interface PolicyRule {
  verbs?: unknown;
  apiGroups?: unknown;
  resources?: unknown;
  resourceNames?: unknown;
  nonResourceURLs?: unknown;
}

function has(list: unknown, value: string): boolean {
  if (!Array.isArray(list)) return false;
  for (const item of list) if (item === "*" || item === value) return true;
  return false;
}

function resourceMatches(list: unknown, resource: string, subresource: string): boolean {
  if (!Array.isArray(list)) return false;
  const combined = subresource === "" ? resource : `${resource}/${subresource}`;
  for (const item of list) {
    if (item === "*" || item === combined) return true;
    if (
      subresource !== "" &&
      typeof item === "string" &&
      item.length === subresource.length + 2 &&
      item.startsWith("*/") &&
      item.endsWith(subresource)
    ) {
      return true;
    }
  }
  return false;
}

function nameMatches(list: unknown, name: string): boolean {
  if (!Array.isArray(list) || list.length === 0) return true;
  for (const item of list) if (item === name) return true;
  return false;
}

function urlMatches(list: unknown, path: string): boolean {
  if (!Array.isArray(list)) return false;
  for (const item of list) {
    if (typeof item !== "string") continue;
    if (item === "*" || item === path) return true;
    if (item.endsWith("*") && path.startsWith(item.slice(0, -1))) return true;
  }
  return false;
}

/** Whether `rule` allows the request. */
export function ruleAllows(rule: PolicyRule, a: Attributes): boolean {
  if (!has(rule.verbs, a.verb)) return false;
  if (!a.resourceRequest) return urlMatches(rule.nonResourceURLs, a.path);
  return (
    has(rule.apiGroups, a.apiGroup) &&
    resourceMatches(rule.resources, a.resource, a.subresource) &&
    nameMatches(rule.resourceNames, a.name)
  );
}
