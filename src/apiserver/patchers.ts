/**
 * The patch algorithms the registry applies, from `src/api/patch/`: RFC 6902 JSON patch, RFC 7386
 * merge patch, strategic merge patch (by the kind's patch-metadata table) and server-side apply.
 *
 * @module
 */
import {
  applyJsonPatch,
  applyMergePatch,
  applyStrategicMergePatch,
  recordUpdate,
  serverSideApply,
} from "../api/patch/index.ts";
import type { Patchers } from "./registry/index.ts";

export const patchers: Patchers = {
  patch({ type, patch, original, info }) {
    switch (type) {
      case "json":
        return applyJsonPatch(original, patch);
      case "merge":
        return applyMergePatch(original, patch);
      case "strategic":
        return applyStrategicMergePatch(original, patch, { group: info.group, kind: info.kind });
      case "apply":
        throw new Error("apply patches go through patchers.apply");
    }
  },
  apply({ live, applied, manager, force, info, subresource }) {
    return serverSideApply(live, applied, {
      manager,
      force,
      kind: { group: info.group, kind: info.kind },
      // A custom resource merges as its CRD's schema says (list-type, map keys, map-type).
      ...(info.custom?.apply ? { schema: info.custom.apply } : {}),
      ...(subresource ? { subresource } : {}),
    }).object;
  },
  recordUpdate({ live, updated, manager, info, subresource }) {
    return recordUpdate(live, updated, {
      manager,
      kind: { group: info.group, kind: info.kind },
      ...(info.custom?.apply ? { schema: info.custom.apply } : {}),
      ...(subresource ? { subresource } : {}),
    });
  },
};
