/**
 * API discovery, both legacy (`/api`, `/apis`, `/apis/<g>`, `/api/v1`, `/apis/<g>/<v>`) and
 * aggregated (`apidiscovery.k8s.io` v2 and v2beta1, chosen by the Accept header, answered with the
 * exact Content-Type kubectl compares against). Everything is derived from the resource table,
 * plus `extra` resources served outside the registry (the `metrics.k8s.io` group when a metrics
 * provider is wired in).
 *
 * @module
 */
import { apiVersionOf } from "../../api/types.ts";
import { type ResourceInfo, servedGroups } from "../resources.ts";

export const AGGREGATED_TYPES = {
  v2: "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
  v2beta1: "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList",
} as const;

/** The aggregated discovery version the client asked for first, if any. */
export function wantsAggregated(accept: string | undefined): "v2" | "v2beta1" | undefined {
  if (!accept) return undefined;
  for (const part of accept.split(",")) {
    const p = part.replace(/\s+/g, "");
    if (!p.includes("as=APIGroupDiscoveryList") || !p.includes("g=apidiscovery.k8s.io")) {
      if (p.startsWith("application/json") || p === "*/*") return undefined;
      continue;
    }
    if (p.includes("v=v2beta1")) return "v2beta1";
    if (p.includes("v=v2")) return "v2";
  }
  return undefined;
}

type Extra = readonly ResourceInfo[];

function served(extra: Extra) {
  const groups = servedGroups();
  for (const r of extra) {
    const g = groups.find((x) => x.group === r.group && x.version === r.version);
    if (g) g.resources.push(r);
    else groups.push({ group: r.group, version: r.version, resources: [r] });
  }
  return groups;
}

function groupsFor(core: boolean, extra: Extra) {
  return served(extra).filter((g) => (g.group === "") === core);
}

export function apiVersions(serverAddress: string): object {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}

function groupDoc(name: string, versions: string[]) {
  const vs = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
  return { name, versions: vs, preferredVersion: vs[0] };
}

export function apiGroupList(extra: Extra = []): object {
  const byName = new Map<string, string[]>();
  for (const g of groupsFor(false, extra))
    byName.set(g.group, [...(byName.get(g.group) ?? []), g.version]);
  return {
    kind: "APIGroupList",
    apiVersion: "v1",
    groups: [...byName].map(([name, versions]) => groupDoc(name, versions)),
  };
}

export function apiGroup(group: string, extra: Extra = []): object | undefined {
  const versions = groupsFor(false, extra)
    .filter((g) => g.group === group)
    .map((g) => g.version);
  if (versions.length === 0) return undefined;
  return { kind: "APIGroup", apiVersion: "v1", ...groupDoc(group, versions) };
}

export function apiResourceList(
  group: string,
  version: string,
  extra: Extra = [],
): object | undefined {
  const g = served(extra).find((x) => x.group === group && x.version === version);
  if (!g) return undefined;
  const resources: object[] = [];
  for (const r of g.resources) {
    resources.push({
      name: r.resource,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: r.verbs,
      ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
      ...(r.categories.length ? { categories: r.categories } : {}),
    });
    for (const s of r.subresources) {
      resources.push({
        name: `${r.resource}/${s.name}`,
        singularName: "",
        namespaced: r.namespaced,
        ...(s.kind
          ? { group: s.kind.group, version: s.kind.version, kind: s.kind.kind }
          : { kind: r.kind }),
        verbs: s.verbs,
      });
    }
  }
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: apiVersionOf(group, version),
    resources,
  };
}

function aggregatedResource(r: ResourceInfo) {
  return {
    resource: r.resource,
    responseKind: { group: r.group, version: r.version, kind: r.kind },
    scope: r.namespaced ? "Namespaced" : "Cluster",
    singularResource: r.singular,
    verbs: r.verbs,
    ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
    ...(r.categories.length ? { categories: r.categories } : {}),
    ...(r.subresources.length
      ? {
          subresources: r.subresources.map((s) => ({
            subresource: s.name,
            responseKind: s.kind ?? { group: r.group, version: r.version, kind: r.kind },
            verbs: s.verbs,
          })),
        }
      : {}),
  };
}

/** `/api` (core) or `/apis` (named groups) as an APIGroupDiscoveryList. */
export function aggregatedDiscovery(
  core: boolean,
  version: "v2" | "v2beta1",
  extra: Extra = [],
): object {
  const byName = new Map<string, Array<{ version: string; resources: ResourceInfo[] }>>();
  for (const g of groupsFor(core, extra)) {
    byName.set(g.group, [
      ...(byName.get(g.group) ?? []),
      { version: g.version, resources: g.resources },
    ]);
  }
  return {
    kind: "APIGroupDiscoveryList",
    apiVersion: `apidiscovery.k8s.io/${version}`,
    metadata: {},
    items: [...byName].map(([name, versions]) => ({
      metadata: name ? { name, creationTimestamp: null } : { creationTimestamp: null },
      versions: versions.map((v) => ({
        version: v.version,
        resources: v.resources.map(aggregatedResource),
        freshness: "Current",
      })),
    })),
  };
}
