/**
 * ObjectMeta validation as apimachinery's `ValidateObjectMeta` and `ValidateObjectMetaUpdate`:
 * the name by the kind's rule, namespace by scope, label keys and values, annotation keys and
 * their total size, owner references and finalizers; on update, name, namespace, uid,
 * creationTimestamp, deletionTimestamp and deletionGracePeriodSeconds are immutable.
 *
 * Field paths and messages are kube's, so `kubectl` prints the same `…is invalid: …` text.
 *
 * @module
 */
import { type FieldError, fieldForbidden, fieldInvalid, fieldRequired } from "../errors.ts";
import type { ObjectMeta } from "../types.ts";
import {
  isDNS1035Label,
  isDNS1123Label,
  isDNS1123Subdomain,
  isQualifiedName,
  isValidLabelValue,
} from "../validation.ts";
import { fieldTooLong } from "./_errors.ts";
import { isObj, objs, semanticEqual, str } from "./_util.ts";

/** Returns the problems with a name; `prefix` is true for generateName (a trailing `-` is fine). */
export type NameRule = (name: string, prefix: boolean) => string[];

function maskTrailingDash(name: string): string {
  return name.length > 1 && name.endsWith("-") ? `${name.slice(0, -2)}a` : name;
}

export const nameIsDNSSubdomain: NameRule = (name, prefix) =>
  isDNS1123Subdomain(prefix ? maskTrailingDash(name) : name);
export const nameIsDNSLabel: NameRule = (name, prefix) =>
  isDNS1123Label(prefix ? maskTrailingDash(name) : name);
export const nameIsDNS1035Label: NameRule = (name, prefix) =>
  isDNS1035Label(prefix ? maskTrailingDash(name) : name);

/** ValidatePathSegmentName: PersistentVolume and PersistentVolumeClaim names. */
export const nameIsPathSegment: NameRule = (name, prefix) => {
  const errs: string[] = [];
  if (!prefix) {
    if (name === ".") errs.push("may not be '.'");
    if (name === "..") errs.push("may not be '..'");
  }
  if (name.includes("/")) errs.push("may not contain '/'");
  if (name.includes("%")) errs.push("may not contain '%'");
  return errs;
};

export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

export function validateLabelKey(key: string, path: string): FieldError[] {
  return isQualifiedName(key).map((msg) => fieldInvalid(path, key, msg));
}

/** ValidateLabels: errors carry the map's path, not the key's. */
export function validateLabels(labels: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!isObj(labels)) return errs;
  for (const [k, v] of Object.entries(labels)) {
    errs.push(...validateLabelKey(k, path));
    const value = typeof v === "string" ? v : String(v);
    for (const msg of isValidLabelValue(value)) errs.push(fieldInvalid(path, value, msg));
  }
  return errs;
}

/** ValidateAnnotations: keys are qualified names compared in lower case; ≤ 256 KiB in total. */
export function validateAnnotations(annotations: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!isObj(annotations)) return errs;
  let size = 0;
  for (const [k, v] of Object.entries(annotations)) {
    for (const msg of isQualifiedName(k.toLowerCase())) errs.push(fieldInvalid(path, k, msg));
    size += Buffer.byteLength(k) + Buffer.byteLength(str(v));
  }
  if (size > TOTAL_ANNOTATION_SIZE_LIMIT)
    errs.push(fieldTooLong(path, TOTAL_ANNOTATION_SIZE_LIMIT));
  return errs;
}

function validateOwnerReferences(refs: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  let controllerName = "";
  for (const ref of objs(refs)) {
    const apiVersion = str(ref.apiVersion);
    const version = apiVersion.includes("/")
      ? apiVersion.slice(apiVersion.indexOf("/") + 1)
      : apiVersion;
    if (version === "")
      errs.push(fieldInvalid(`${path}.apiVersion`, apiVersion, "version must not be empty"));
    if (str(ref.kind) === "")
      errs.push(fieldInvalid(`${path}.kind`, str(ref.kind), "kind must not be empty"));
    if (str(ref.name) === "")
      errs.push(fieldInvalid(`${path}.name`, str(ref.name), "name must not be empty"));
    if (str(ref.uid) === "")
      errs.push(fieldInvalid(`${path}.uid`, str(ref.uid), "uid must not be empty"));
    if (ref.controller === true) {
      if (controllerName !== "") {
        errs.push({
          type: "FieldValueInvalid",
          field: path,
          message: `Invalid value: ${JSON.stringify(refs)}: Only one reference can have Controller set to true. Found "true" in references for ${controllerName} and ${str(ref.name)}`,
        });
      } else {
        controllerName = str(ref.name);
      }
    }
  }
  return errs;
}

function validateFinalizers(finalizers: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!Array.isArray(finalizers)) return errs;
  for (const f of finalizers) {
    const name = str(f);
    for (const msg of isQualifiedName(name)) errs.push(fieldInvalid(path, name, msg));
  }
  return errs;
}

export interface ObjectMetaOptions {
  /** True for namespaced kinds: namespace required; false: namespace forbidden. */
  namespaced: boolean;
  nameRule: NameRule;
  /** Field path prefix, `metadata` unless nested. */
  path?: string;
}

/** ValidateObjectMeta. A missing name is fine when generateName is set (the server fills it in). */
export function validateObjectMeta(
  meta: ObjectMeta | undefined,
  opts: ObjectMetaOptions,
): FieldError[] {
  const path = opts.path ?? "metadata";
  const m: ObjectMeta = meta ?? {};
  const errs: FieldError[] = [];
  const generateName = str(m.generateName);
  const name = str(m.name);
  if (generateName !== "") {
    for (const msg of opts.nameRule(generateName, true)) {
      errs.push(fieldInvalid(`${path}.generateName`, generateName, msg));
    }
  }
  if (name === "") {
    if (generateName === "")
      errs.push(fieldRequired(`${path}.name`, "name or generateName is required"));
  } else {
    for (const msg of opts.nameRule(name, false))
      errs.push(fieldInvalid(`${path}.name`, name, msg));
  }
  const namespace = str(m.namespace);
  if (opts.namespaced) {
    if (namespace === "") errs.push(fieldRequired(`${path}.namespace`));
    else
      for (const msg of isDNS1123Label(namespace))
        errs.push(fieldInvalid(`${path}.namespace`, namespace, msg));
  } else if (namespace !== "") {
    errs.push(fieldForbidden(`${path}.namespace`, "not allowed on this type"));
  }
  if (typeof m.generation === "number" && m.generation < 0) {
    errs.push(
      fieldInvalid(`${path}.generation`, m.generation, "must be greater than or equal to 0"),
    );
  }
  errs.push(...validateLabels(m.labels, `${path}.labels`));
  errs.push(...validateAnnotations(m.annotations, `${path}.annotations`));
  errs.push(...validateOwnerReferences(m.ownerReferences, `${path}.ownerReferences`));
  errs.push(...validateFinalizers(m.finalizers, `${path}.finalizers`));
  return errs;
}

function immutable(errs: FieldError[], path: string, now: unknown, old: unknown): void {
  // Go compares zero values: a missing string field and "" are the same.
  const norm = (v: unknown) => (v === undefined || v === null ? "" : v);
  if (!semanticEqual(norm(now), norm(old)))
    errs.push(fieldInvalid(path, norm(now), "field is immutable"));
}

/**
 * ValidateObjectMetaUpdate: labels, annotations, owner references and finalizers as on create;
 * identity fields immutable; no new finalizers once deletion has started.
 *
 * Not checked here because the API server owns them: resourceVersion presence (unconditional
 * updates are the server's call) and generation monotonicity (the server bumps it).
 */
export function validateObjectMetaUpdate(
  meta: ObjectMeta | undefined,
  old: ObjectMeta | undefined,
  opts: { path?: string } = {},
): FieldError[] {
  const path = opts.path ?? "metadata";
  const m: ObjectMeta = meta ?? {};
  const o: ObjectMeta = old ?? {};
  const errs: FieldError[] = [];
  if (o.deletionTimestamp) {
    const before = new Set(o.finalizers ?? []);
    const extra = [...new Set((m.finalizers ?? []).filter((f) => !before.has(f)))].sort();
    if (extra.length > 0) {
      errs.push(
        fieldForbidden(
          `${path}.finalizers`,
          `no new finalizers can be added if the object is being deleted, found new finalizers []string{${extra.map((f) => JSON.stringify(f)).join(", ")}}`,
        ),
      );
    }
  }
  immutable(errs, `${path}.name`, m.name, o.name);
  immutable(errs, `${path}.namespace`, m.namespace, o.namespace);
  immutable(errs, `${path}.uid`, m.uid, o.uid);
  immutable(errs, `${path}.creationTimestamp`, m.creationTimestamp, o.creationTimestamp);
  immutable(errs, `${path}.deletionTimestamp`, m.deletionTimestamp, o.deletionTimestamp);
  immutable(
    errs,
    `${path}.deletionGracePeriodSeconds`,
    m.deletionGracePeriodSeconds,
    o.deletionGracePeriodSeconds,
  );
  errs.push(...validateLabels(m.labels, `${path}.labels`));
  errs.push(...validateAnnotations(m.annotations, `${path}.annotations`));
  errs.push(...validateOwnerReferences(m.ownerReferences, `${path}.ownerReferences`));
  errs.push(...validateFinalizers(m.finalizers, `${path}.finalizers`));
  return errs;
}
