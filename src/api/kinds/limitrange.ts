/**
 * core/v1 LimitRanges as kube-apiserver 1.32 keeps them: Container items defaulted as
 * SetDefaults_LimitRangeItem does (default limit from max, default request from the default
 * limit, else from min), validation with kube's messages (resource names for the item's type,
 * min ≤ default request ≤ default ≤ max, ratios of at least 1 and at most max/min, storage
 * bounds for claims), and the `kubectl get limits` columns (NAME, CREATED AT).
 *
 * @module
 */
import {
  type FieldError,
  fieldDuplicate,
  fieldForbidden,
  fieldInvalid,
  fieldRequired,
} from "../errors.ts";
import {
  compareQuantity,
  formatQuantity,
  isQuantity,
  type Quantity,
  quantity,
} from "../quantity.ts";
import { isExtendedResourceName, isStandardContainerResourceName } from "../quota/index.ts";
import type { KubeObject } from "../types.ts";
import { isQualifiedName } from "../validation.ts";
import { column, NAME } from "./_columns.ts";
import { simpleValidators } from "./_simple.ts";
import { at, child, isObj, type Obj, objs, str } from "./_util.ts";
import { nameIsDNSSubdomain } from "./meta.ts";
import { validateResourceName } from "./resourcequota.ts";
import type { KindStrategy } from "./types.ts";

const FIELDS = ["max", "min", "default", "defaultRequest", "maxLimitRequestRatio"] as const;

/** SetDefaults_LimitRangeItem, for Container items only. */
function defaultItem(item: Obj): void {
  if (item.type !== "Container") return;
  const max = isObj(item.max) ? item.max : {};
  const min = isObj(item.min) ? item.min : {};
  const defaults = child(item, "default");
  const requests = child(item, "defaultRequest");
  for (const [k, v] of Object.entries(max)) if (defaults[k] === undefined) defaults[k] = v;
  for (const [k, v] of Object.entries(defaults)) if (requests[k] === undefined) requests[k] = v;
  for (const [k, v] of Object.entries(min)) if (requests[k] === undefined) requests[k] = v;
  // Empty maps are omitted on the wire, as Go's omitempty drops them.
  if (Object.keys(defaults).length === 0) delete item.default;
  if (Object.keys(requests).length === 0) delete item.defaultRequest;
}

function validateItemResourceName(type: string, name: string, path: string): FieldError[] {
  const errs = validateResourceName(name, path);
  if (type !== "Pod" && type !== "Container") return errs;
  if (!name.includes("/")) {
    if (!isStandardContainerResourceName(name))
      errs.push(fieldInvalid(path, name, "must be a standard resource for containers"));
  } else if (!name.startsWith("kubernetes.io/") && !isExtendedResourceName(name)) {
    errs.push(fieldInvalid(path, name, "doesn't follow extended resource name standard"));
  }
  return errs;
}

const OVERCOMMIT_FORBIDDEN = (name: string) =>
  name.startsWith("hugepages-") || (name.includes("/") && !name.startsWith("kubernetes.io/"));

function ratio(a: Quantity, b: Quantity): number {
  return Number(a.nanos) / Number(b.nanos);
}

function validateItem(item: Obj, i: number, seen: Set<string>): FieldError[] {
  const path = `spec.limits[${i}]`;
  const type = str(item.type);
  const errs: FieldError[] = isQualifiedName(type).map((m) =>
    fieldInvalid(`${path}.type`, type, m),
  );
  if (seen.has(type)) errs.push(fieldDuplicate(`${path}.type`, type));
  seen.add(type);
  const lists: Partial<Record<(typeof FIELDS)[number], Record<string, Quantity>>> = {};
  const keys = new Set<string>();
  for (const field of FIELDS) {
    const raw = item[field];
    if (!isObj(raw)) continue;
    if (type === "Pod" && (field === "default" || field === "defaultRequest")) {
      if (Object.keys(raw).length > 0)
        errs.push(fieldForbidden(`${path}.${field}`, "may not be specified when `type` is 'Pod'"));
      continue;
    }
    const list: Record<string, Quantity> = {};
    for (const [name, v] of Object.entries(raw)) {
      errs.push(...validateItemResourceName(type, name, `${path}.${field}[${name}]`));
      keys.add(name);
      if (isQuantity(v)) list[name] = quantity(v as string);
    }
    lists[field] = list;
  }
  if (type === "PersistentVolumeClaim" && !lists.min?.storage && !lists.max?.storage) {
    errs.push(
      fieldRequired(
        `${path}.limits`,
        "either minimum or maximum storage value is required, but neither was provided",
      ),
    );
  }
  const s = formatQuantity;
  for (const k of [...keys].sort()) {
    const min = lists.min?.[k];
    const max = lists.max?.[k];
    const def = lists.default?.[k];
    const req = lists.defaultRequest?.[k];
    const maxRatio = lists.maxLimitRequestRatio?.[k];
    const at = (field: string) => `${path}.${field}[${k}]`;
    if (min && max && compareQuantity(min, max) > 0)
      errs.push(
        fieldInvalid(at("min"), s(min), `min value ${s(min)} is greater than max value ${s(max)}`),
      );
    if (req && min && compareQuantity(min, req) > 0)
      errs.push(
        fieldInvalid(
          at("defaultRequest"),
          s(req),
          `min value ${s(min)} is greater than default request value ${s(req)}`,
        ),
      );
    if (req && max && compareQuantity(req, max) > 0)
      errs.push(
        fieldInvalid(
          at("defaultRequest"),
          s(req),
          `default request value ${s(req)} is greater than max value ${s(max)}`,
        ),
      );
    if (req && def && compareQuantity(req, def) > 0)
      errs.push(
        fieldInvalid(
          at("defaultRequest"),
          s(req),
          `default request value ${s(req)} is greater than default limit value ${s(def)}`,
        ),
      );
    if (def && min && compareQuantity(min, def) > 0)
      errs.push(
        fieldInvalid(
          at("default"),
          s(min),
          `min value ${s(min)} is greater than default value ${s(def)}`,
        ),
      );
    if (def && max && compareQuantity(def, max) > 0)
      errs.push(
        fieldInvalid(
          at("default"),
          s(max),
          `default value ${s(def)} is greater than max value ${s(max)}`,
        ),
      );
    if (maxRatio && compareQuantity(maxRatio, quantity("1")) < 0)
      errs.push(
        fieldInvalid(
          at("maxLimitRequestRatio"),
          s(maxRatio),
          `ratio ${s(maxRatio)} is less than 1`,
        ),
      );
    if (maxRatio && min && max && min.nanos > 0n) {
      const limit = ratio(max, min);
      if (Number(maxRatio.nanos) / 1e9 > limit)
        errs.push(
          fieldInvalid(
            at("maxLimitRequestRatio"),
            s(maxRatio),
            `ratio ${s(maxRatio)} is greater than max/min = ${limit.toFixed(6)}`,
          ),
        );
    }
    if (OVERCOMMIT_FORBIDDEN(k) && def && req && compareQuantity(def, req) !== 0)
      errs.push(
        fieldInvalid(
          at("defaultRequest"),
          s(req),
          `default value ${s(def)} must equal to defaultRequest value ${s(req)} in ${k}`,
        ),
      );
  }
  return errs;
}

function validateLimitRange(lr: KubeObject): FieldError[] {
  const seen = new Set<string>();
  return objs(at(lr, "spec", "limits")).flatMap((item, i) => validateItem(item, i, seen));
}

export const limitRangeStrategy: KindStrategy = {
  group: "",
  version: "v1",
  kind: "LimitRange",
  resource: "limitranges",
  singular: "limitrange",
  shortNames: ["limits"],
  namespaced: true,
  hasGeneration: false,
  hasStatus: false,
  applyDefaults(lr) {
    for (const item of objs(at(lr, "spec", "limits"))) defaultItem(item);
  },
  ...simpleValidators({ namespaced: true, nameRule: nameIsDNSSubdomain, spec: validateLimitRange }),
  columns: [
    NAME,
    column(
      "Created At",
      "date",
      "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
    ),
  ],
  row(lr) {
    return [lr.metadata.name ?? "", lr.metadata.creationTimestamp ?? null];
  },
};
