/**
 * An aggregated server's `APIResourceList` (its answer to `GET /apis/<group>/<version>`) as the
 * API server's resource-table entries, so that discovery (legacy and aggregated) lists an
 * aggregated group-version's resources beside the local ones. `<resource>/<sub>` entries become
 * the subresources of their resource; anything malformed is skipped.
 *
 * @module
 */
import type { ResourceInfo } from "../resources.ts";

interface ApiResource {
  name?: string;
  singularName?: string;
  namespaced?: boolean;
  kind?: string;
  group?: string;
  version?: string;
  verbs?: string[];
  shortNames?: string[];
  categories?: string[];
}

export function resourcesOf(group: string, version: string, list: unknown): ResourceInfo[] {
  const items = (list as { resources?: ApiResource[] } | undefined)?.resources;
  if (!Array.isArray(items)) return [];
  const out = new Map<string, ResourceInfo>();
  for (const r of items) {
    if (typeof r?.name !== "string" || r.name.includes("/") || typeof r.kind !== "string") continue;
    out.set(r.name, {
      group,
      version,
      kind: r.kind,
      listKind: `${r.kind}List`,
      resource: r.name,
      singular: r.singularName || r.kind.toLowerCase(),
      namespaced: r.namespaced === true,
      shortNames: Array.isArray(r.shortNames) ? r.shortNames : [],
      categories: Array.isArray(r.categories) ? r.categories : [],
      verbs: Array.isArray(r.verbs) ? r.verbs : [],
      subresources: [],
    });
  }
  for (const r of items) {
    if (typeof r?.name !== "string" || !r.name.includes("/")) continue;
    const [parent, sub] = r.name.split("/", 2) as [string, string];
    const info = out.get(parent);
    if (!info) continue;
    info.subresources.push({
      name: sub,
      ...(r.kind && (r.kind !== info.kind || r.group !== undefined)
        ? { kind: { group: r.group ?? group, version: r.version ?? version, kind: r.kind } }
        : {}),
      verbs: Array.isArray(r.verbs) ? r.verbs : [],
    });
  }
  return [...out.values()];
}
