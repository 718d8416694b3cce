/**
 * Strategy lookup: the kind's own strategy from `src/api/kinds/`, or a generic one (metadata-only
 * validation, NAME and AGE columns) for a resource that has none yet.
 *
 * @module
 */
import { sinceTimestamp } from "../../api/duration.ts";
import { type FieldError, fieldInvalid, fieldRequired } from "../../api/errors.ts";
import type { KindStrategy } from "../../api/kinds/types.ts";
import type { KubeObject } from "../../api/types.ts";
import { isDNS1123Subdomain } from "../../api/validation.ts";
import type { ResourceInfo } from "../resources.ts";

export type StrategyLookup = (info: ResourceInfo) => KindStrategy;

function validateName(obj: KubeObject): FieldError[] {
  const name = obj.metadata.name;
  if (!name) return [fieldRequired("metadata.name", "name or generateName is required")];
  return isDNS1123Subdomain(name).map((m) => fieldInvalid("metadata.name", name, m));
}

/** A strategy for a resource without its own: no defaults, name checks only, NAME/AGE columns. */
export function genericStrategy(info: ResourceInfo): KindStrategy {
  return {
    group: info.group,
    version: info.version,
    kind: info.kind,
    resource: info.resource,
    namespaced: info.namespaced,
    hasGeneration: false,
    hasStatus: info.subresources.some((s) => s.name === "status"),
    applyDefaults() {},
    validate: validateName,
    validateUpdate: validateName,
    columns: [
      { name: "Name", type: "string", format: "name", description: "Name", priority: 0 },
      { name: "Age", type: "string", format: "", description: "Age", priority: 0 },
    ],
    row: (obj, now) => [obj.metadata.name, sinceTimestamp(obj.metadata.creationTimestamp, now)],
  };
}
