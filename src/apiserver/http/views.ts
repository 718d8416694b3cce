/**
 * The alternative representations of objects and lists a client may negotiate: a `meta.k8s.io/v1`
 * Table (what `kubectl get` prints) and PartialObjectMetadata (what metadata-only informers use).
 *
 * @module
 */
import type { KindStrategy } from "../../api/kinds/types.ts";
import { buildTable, type IncludeObject } from "../../api/table.ts";
import type { KubeList, KubeObject } from "../../api/types.ts";
import type { StreamedJson } from "./_listwriter.ts";
import type { View } from "./codec.ts";

export { parseIncludeObject } from "../../api/table.ts";

function partial(obj: KubeObject): KubeObject {
  return { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: obj.metadata };
}

export interface ViewOptions {
  view: View;
  strategy: KindStrategy;
  now: number;
  includeObject: IncludeObject;
  /** Omit column definitions (watch events after the first). */
  noHeaders?: boolean;
}

export function renderObject(obj: KubeObject, o: ViewOptions): unknown {
  if (o.view === "partial") return partial(obj);
  if (o.view === "table") return renderTable([obj], obj.metadata.resourceVersion ?? "", o);
  return obj;
}

export function renderList(list: KubeList, o: ViewOptions): unknown {
  if (o.view === "partial") {
    return {
      kind: "PartialObjectMetadataList",
      apiVersion: "meta.k8s.io/v1",
      metadata: list.metadata,
      items: list.items.map(partial),
    };
  }
  if (o.view === "table") {
    return buildTable(o.strategy, list.items, o.now, {
      includeObject: o.includeObject,
      resourceVersion: list.metadata.resourceVersion,
      continue: list.metadata.continue,
      remainingItemCount: list.metadata.remainingItemCount,
    });
  }
  return list;
}

/** `renderList` as the streaming writer takes it: the envelope, its big array, a per-item map. */
export function streamList(list: KubeList, o: ViewOptions): StreamedJson {
  if (o.view === "partial") {
    const body = {
      kind: "PartialObjectMetadataList",
      apiVersion: "meta.k8s.io/v1",
      metadata: list.metadata,
      items: list.items,
    };
    return { body, arrayKey: "items", map: (item) => partial(item as KubeObject) };
  }
  if (o.view === "table") {
    return { body: renderList(list, o) as Record<string, unknown>, arrayKey: "rows" };
  }
  return { body: list as unknown as Record<string, unknown>, arrayKey: "items" };
}

function renderTable(objects: KubeObject[], resourceVersion: string, o: ViewOptions): unknown {
  return buildTable(o.strategy, objects, o.now, {
    includeObject: o.includeObject,
    resourceVersion,
    noHeaders: o.noHeaders,
  });
}
