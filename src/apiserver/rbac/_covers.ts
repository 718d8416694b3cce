/**
 * Whether one set of rules covers another, as kube's escalation check (`validation.Covers`)
 * decides: every servant rule, broken into single verb × group × resource × name (or URL) parts,
 * must be allowed by some owner rule. An owner's `*` covers anything; `res/*` covers every
 * subresource of `res`; `*\/sub` covers `sub` of every resource; a URL ending in `*` covers the
 * URLs it prefixes. Returns the servant rules not covered, in kube's compact form.
 *
 * @module
 */
import type { PolicyRule } from "./_rules.ts";

function list(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === "string") : [];
}

function hasOrStar(owner: string[], value: string): boolean {
  return owner.includes("*") || owner.includes(value);
}

function resourceCovered(owner: string[], resource: string): boolean {
  for (const o of owner) {
    if (o === "*" || o === resource) return true;
    if (o.endsWith("/*") && resource.startsWith(o.slice(0, -1))) return true;
    if (o.startsWith("*/") && resource.includes("/") && resource.endsWith(o.slice(1))) return true;
  }
  return false;
}

function urlCovered(owner: string[], url: string): boolean {
  for (const o of owner) {
    if (o === "*" || o === url) return true;
    if (o.endsWith("*") && url.startsWith(o.slice(0, -1))) return true;
  }
  return false;
}

interface Simple {
  verb: string;
  group?: string;
  resource?: string;
  name?: string;
  url?: string;
}

function breakdown(rule: PolicyRule): Simple[] {
  const out: Simple[] = [];
  for (const verb of list(rule.verbs)) {
    for (const group of list(rule.apiGroups)) {
      for (const resource of list(rule.resources)) {
        const names = list(rule.resourceNames);
        if (names.length === 0) out.push({ verb, group, resource });
        else for (const name of names) out.push({ verb, group, resource, name });
      }
    }
    for (const url of list(rule.nonResourceURLs)) out.push({ verb, url });
  }
  return out;
}

function covers(owner: PolicyRule, s: Simple): boolean {
  if (!hasOrStar(list(owner.verbs), s.verb)) return false;
  if (s.url !== undefined) return urlCovered(list(owner.nonResourceURLs), s.url);
  if (!hasOrStar(list(owner.apiGroups), s.group ?? "")) return false;
  if (!resourceCovered(list(owner.resources), s.resource ?? "")) return false;
  const names = list(owner.resourceNames);
  return names.length === 0 || (s.name !== undefined && names.includes(s.name));
}

const goList = (values: string[]) => `[${values.map((v) => JSON.stringify(v)).join(" ")}]`;

/** kube's CompactString of a rule: `{APIGroups:["apps"], Resources:["deployments"], Verbs:["get" "list"]}`. */
function compact(s: Simple, verbs: string[]): string {
  const parts: string[] = [];
  if (s.url !== undefined) parts.push(`NonResourceURLs:${goList([s.url])}`);
  else {
    parts.push(`APIGroups:${goList([s.group ?? ""])}`, `Resources:${goList([s.resource ?? ""])}`);
    if (s.name !== undefined) parts.push(`ResourceNames:${goList([s.name])}`);
  }
  parts.push(`Verbs:${goList(verbs)}`);
  return `{${parts.join(", ")}}`;
}

/**
 * The parts of `servant` that no rule of `owner` covers, compacted as kube's CompactRules does
 * (resource rules without names that differ only in verbs merge), sorted.
 */
export function uncovered(owner: readonly PolicyRule[], servant: readonly PolicyRule[]): string[] {
  const merged = new Map<string, { simple: Simple; verbs: string[] }>();
  const others: string[] = [];
  for (const rule of servant) {
    for (const s of breakdown(rule)) {
      if (owner.some((o) => covers(o, s))) continue;
      if (s.url !== undefined || s.name !== undefined) {
        others.push(compact(s, [s.verb]));
        continue;
      }
      const key = `${s.group}\u0000${s.resource}`;
      const at = merged.get(key);
      if (at) {
        if (!at.verbs.includes(s.verb)) at.verbs.push(s.verb);
      } else merged.set(key, { simple: s, verbs: [s.verb] });
    }
  }
  return [...[...merged.values()].map((m) => compact(m.simple, m.verbs)), ...others].sort();
}
