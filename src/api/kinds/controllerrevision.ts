/**
 * apps/v1 controllerrevisions: data required and immutable, revision non-negative, and the
 * `kubectl get controllerrevisions` columns (CONTROLLER as `statefulset.apps/web`).
 *
 * @module
 */

import { sinceTimestamp } from "../duration.ts";
import { type FieldError, fieldInvalid, fieldRequired } from "../errors.ts";
import type { KubeObject } from "../types.ts";
import { AGE, column, NAME } from "./_columns.ts";
import { simpleValidators } from "./_simple.ts";
import { num, semanticEqual } from "./_util.ts";
import { nonNegative } from "./_workload.ts";
import { nameIsDNSSubdomain } from "./meta.ts";
import type { KindStrategy } from "./types.ts";

function validateRevision(cr: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  if (cr.data === undefined || cr.data === null)
    errs.push(fieldRequired("data", "data is mandatory"));
  errs.push(...nonNegative(cr.revision, "revision"));
  return errs;
}

/** `statefulset.apps/web` for the controller owner, `<none>` without one. */
export function controllerName(obj: KubeObject): string {
  const ref = (obj.metadata.ownerReferences ?? []).find((r) => r.controller === true);
  if (!ref) return "<none>";
  const apiVersion = ref.apiVersion ?? "";
  const group = apiVersion.includes("/") ? apiVersion.slice(0, apiVersion.indexOf("/")) : "";
  const kind = ref.kind ?? "";
  if (kind === "") return ref.name ?? "";
  return `${(group === "" ? kind : `${kind}.${group}`).toLowerCase()}/${ref.name ?? ""}`;
}

export const controllerRevisionStrategy: KindStrategy = {
  group: "apps",
  version: "v1",
  kind: "ControllerRevision",
  resource: "controllerrevisions",
  singular: "controllerrevision",
  namespaced: true,
  hasGeneration: false,
  hasStatus: false,
  applyDefaults() {},
  ...simpleValidators({
    namespaced: true,
    nameRule: nameIsDNSSubdomain,
    spec: validateRevision,
    update: (cr, old) =>
      semanticEqual(cr.data, old.data)
        ? []
        : [fieldInvalid("data", cr.data ?? null, "field is immutable")],
  }),
  columns: [
    NAME,
    column("Controller", "string", "Controller of the object"),
    column(
      "Revision",
      "string",
      "Revision indicates the revision of the state represented by Data.",
    ),
    AGE,
  ],
  row(cr, now) {
    return [
      cr.metadata.name ?? "",
      controllerName(cr),
      num(cr.revision),
      sinceTimestamp(cr.metadata.creationTimestamp, now),
    ];
  },
};
