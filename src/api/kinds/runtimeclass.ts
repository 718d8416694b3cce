/**
 * node.k8s.io/v1 RuntimeClass (cluster-scoped), as kube-apiserver serves it: `handler` is a DNS
 * label and immutable; `overhead.podFixed` holds valid non-negative quantities;
 * `scheduling.nodeSelector` valid labels and `scheduling.tolerations` valid tolerations; and the
 * `kubectl get runtimeclasses` columns NAME, HANDLER, AGE.
 *
 * What a RuntimeClass does to pods (overhead, node selector, tolerations, a missing class refused)
 * is the API server's RuntimeClass admission; which runtime a handler names is the node agent's.
 *
 * @module
 */
import { sinceTimestamp } from "../duration.ts";
import { type FieldError, fieldInvalid } from "../errors.ts";
import { parseQuantity } from "../quantity.ts";
import type { KubeObject } from "../types.ts";
import { isDNS1123Label } from "../validation.ts";
import { AGE, column, NAME } from "./_columns.ts";
import { simpleValidators } from "./_simple.ts";
import { validateTolerations } from "./_taints.ts";
import { at, isObj, str } from "./_util.ts";
import { nameIsDNSSubdomain, validateLabels } from "./meta.ts";
import type { KindStrategy } from "./types.ts";

function validateQuantities(list: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!isObj(list)) return errs;
  for (const [name, q] of Object.entries(list)) {
    const field = `${path}[${name}]`;
    let value: number;
    try {
      value = parseQuantity(q as string | number);
    } catch {
      errs.push(
        fieldInvalid(
          field,
          q,
          "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
        ),
      );
      continue;
    }
    if (value < 0) errs.push(fieldInvalid(field, q, "must be greater than or equal to 0"));
  }
  return errs;
}

function validateRuntimeClass(rc: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const handler = str(rc.handler);
  for (const m of isDNS1123Label(handler)) errs.push(fieldInvalid("handler", handler, m));
  errs.push(...validateQuantities(at(rc, "overhead", "podFixed"), "overhead.podFixed"));
  const scheduling = rc.scheduling;
  if (isObj(scheduling)) {
    errs.push(...validateLabels(scheduling.nodeSelector, "scheduling.nodeSelector"));
    errs.push(...validateTolerations(scheduling.tolerations, "scheduling.tolerations"));
  }
  return errs;
}

function validateRuntimeClassUpdate(rc: KubeObject, old: KubeObject): FieldError[] {
  if (str(rc.handler) === str(old.handler)) return [];
  return [fieldInvalid("handler", str(rc.handler), "field is immutable")];
}

export const runtimeClassStrategy: KindStrategy = {
  group: "node.k8s.io",
  version: "v1",
  kind: "RuntimeClass",
  resource: "runtimeclasses",
  singular: "runtimeclass",
  namespaced: false,
  hasGeneration: false,
  hasStatus: false,
  applyDefaults() {},
  validate(obj) {
    return [
      ...simpleValidators({ namespaced: false, nameRule: nameIsDNSSubdomain }).validate(obj),
      ...validateRuntimeClass(obj),
    ];
  },
  validateUpdate(obj, old) {
    // ValidateRuntimeClassUpdate: metadata and the immutable handler only.
    return [
      ...simpleValidators({ namespaced: false, nameRule: nameIsDNSSubdomain }).validateUpdate(
        obj,
        old,
      ),
      ...validateRuntimeClassUpdate(obj, old),
    ];
  },
  columns: [
    NAME,
    column(
      "Handler",
      "string",
      'handler specifies the underlying runtime and configuration that the CRI implementation will use to handle pods of this class. The possible values are specific to the node & CRI configuration.  It is assumed that all handlers are available on every node, and handlers of the same name are equivalent on every node. For example, a handler called "runc" might specify that the runc OCI runtime (using native Linux containers) will be used to run the containers in a pod. The Handler must be lowercase, conform to the DNS Label (RFC 1123) requirements, and is immutable.',
    ),
    AGE,
  ],
  row(rc, now) {
    return [
      rc.metadata.name ?? "",
      str(rc.handler),
      sinceTimestamp(rc.metadata.creationTimestamp, now),
    ];
  },
};
