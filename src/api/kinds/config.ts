/**
 * core/v1 configmaps, secrets and serviceaccounts: key rules, the 1 MiB size limit, `immutable`,
 * secret types and their required keys, `stringData` merged into `data`, and their `kubectl get`
 * columns.
 *
 * @module
 */

import { sinceTimestamp } from "../duration.ts";
import { type FieldError, fieldForbidden, fieldInvalid, fieldRequired } from "../errors.ts";
import type { KubeObject } from "../types.ts";
import { AGE, column, NAME } from "./_columns.ts";
import { fieldTooLong } from "./_errors.ts";
import { simpleValidators } from "./_simple.ts";
import { arr, isObj, semanticEqual, str } from "./_util.ts";
import { nameIsDNSSubdomain } from "./meta.ts";
import type { KindStrategy } from "./types.ts";

const MAX_SIZE = 1024 * 1024;

/** IsConfigMapKey: the rule for ConfigMap and Secret data keys. */
export function isConfigMapKey(key: string): string[] {
  const errs: string[] = [];
  if (key.length > 253) errs.push("must be no more than 253 characters");
  if (!/^[-._a-zA-Z0-9]+$/.test(key)) {
    errs.push(
      "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
    );
  }
  if (key === ".") errs.push("must not be '.'");
  else if (key === "..") errs.push("must not be '..'");
  else if (key.startsWith("..")) errs.push("must not start with '..'");
  return errs;
}

function validateData(obj: KubeObject, what: "ConfigMap" | "Secret"): FieldError[] {
  const errs: FieldError[] = [];
  let size = 0;
  const data = isObj(obj.data) ? obj.data : {};
  for (const [k, v] of Object.entries(data)) {
    for (const m of isConfigMapKey(k)) errs.push(fieldInvalid(`data[${k}]`, k, m));
    size += what === "Secret" ? Buffer.from(str(v), "base64").length : Buffer.byteLength(str(v));
  }
  if (what === "ConfigMap") {
    const binary = isObj(obj.binaryData) ? obj.binaryData : {};
    for (const [k, v] of Object.entries(binary)) {
      for (const m of isConfigMapKey(k)) errs.push(fieldInvalid(`binaryData[${k}]`, k, m));
      if (Object.hasOwn(data, k))
        errs.push(fieldInvalid(`binaryData[${k}]`, k, `duplicate of key "${k}" present in data`));
      size += Buffer.from(str(v), "base64").length;
    }
  }
  if (size > MAX_SIZE) errs.push(fieldTooLong("", MAX_SIZE));
  return errs;
}

function validateImmutable(obj: KubeObject, old: KubeObject, dataFields: string[]): FieldError[] {
  if (old.immutable !== true) return [];
  const errs: FieldError[] = [];
  if (obj.immutable !== true)
    errs.push(fieldForbidden("immutable", "field is immutable when `immutable` is set"));
  for (const f of dataFields) {
    if (!semanticEqual(obj[f], old[f]))
      errs.push(fieldForbidden(f, "field is immutable when `immutable` is set"));
  }
  return errs;
}

export const configMapStrategy: KindStrategy = {
  group: "",
  version: "v1",
  kind: "ConfigMap",
  resource: "configmaps",
  singular: "configmap",
  shortNames: ["cm"],
  namespaced: true,
  hasGeneration: false,
  hasStatus: false,
  applyDefaults() {},
  ...simpleValidators({
    namespaced: true,
    nameRule: nameIsDNSSubdomain,
    spec: (obj) => validateData(obj, "ConfigMap"),
    update: (obj, old) => validateImmutable(obj, old, ["data", "binaryData"]),
  }),
  columns: [NAME, column("Data", "string", "Number of data in the ConfigMap"), AGE],
  row(obj, now) {
    const n =
      (isObj(obj.data) ? Object.keys(obj.data).length : 0) +
      (isObj(obj.binaryData) ? Object.keys(obj.binaryData).length : 0);
    return [obj.metadata.name ?? "", n, sinceTimestamp(obj.metadata.creationTimestamp, now)];
  },
};

/** Keys each built-in secret type requires in `data`. */
const REQUIRED_KEYS: Record<string, string[]> = {
  "kubernetes.io/tls": ["tls.crt", "tls.key"],
  "kubernetes.io/dockerconfigjson": [".dockerconfigjson"],
  "kubernetes.io/dockercfg": [".dockercfg"],
  "kubernetes.io/ssh-auth": ["ssh-privatekey"],
};

function validateSecret(obj: KubeObject): FieldError[] {
  const errs = validateData(obj, "Secret");
  const type = str(obj.type);
  const data = isObj(obj.data) ? obj.data : {};
  for (const key of REQUIRED_KEYS[type] ?? []) {
    if (!Object.hasOwn(data, key)) errs.push(fieldRequired(`data[${key}]`));
  }
  if (type === "kubernetes.io/service-account-token") {
    const name = obj.metadata.annotations?.["kubernetes.io/service-account.name"];
    if (!name) errs.push(fieldRequired("metadata.annotations[kubernetes.io/service-account.name]"));
  }
  if (
    type === "kubernetes.io/basic-auth" &&
    !Object.hasOwn(data, "username") &&
    !Object.hasOwn(data, "password")
  ) {
    errs.push(fieldRequired("data[username]", "must provide either `username` or `password`"));
  }
  return errs;
}

/**
 * What kube's v1 → internal conversion does with `stringData`, before defaulting and validation:
 * each entry goes into `data` base64-encoded, replacing a `data` entry of the same key, and
 * `stringData` itself is dropped (it is write-only; the stored Secret never has it).
 */
export function mergeStringData(secret: KubeObject): void {
  const stringData = secret.stringData;
  delete secret.stringData;
  if (!isObj(stringData) || Object.keys(stringData).length === 0) return;
  const data = isObj(secret.data) ? { ...secret.data } : {};
  for (const [k, v] of Object.entries(stringData)) {
    data[k] = Buffer.from(str(v), "utf8").toString("base64");
  }
  secret.data = data;
}

export const secretStrategy: KindStrategy = {
  group: "",
  version: "v1",
  kind: "Secret",
  resource: "secrets",
  singular: "secret",
  namespaced: true,
  hasGeneration: false,
  hasStatus: false,
  applyDefaults(obj) {
    if (obj.type === undefined || obj.type === null || obj.type === "") obj.type = "Opaque";
  },
  prepareForCreate: mergeStringData,
  prepareForUpdate: mergeStringData,
  ...simpleValidators({
    namespaced: true,
    nameRule: nameIsDNSSubdomain,
    spec: validateSecret,
    update: (obj, old) => [
      ...(obj.type !== old.type
        ? [fieldInvalid("type", obj.type ?? "", "field is immutable")]
        : []),
      ...validateImmutable(obj, old, ["data"]),
    ],
  }),
  columns: [
    NAME,
    column("Type", "string", "The type of the secret"),
    column("Data", "string", "Number of data in the secret"),
    AGE,
  ],
  row(obj, now) {
    const n = isObj(obj.data) ? Object.keys(obj.data).length : 0;
    return [
      obj.metadata.name ?? "",
      str(obj.type),
      n,
      sinceTimestamp(obj.metadata.creationTimestamp, now),
    ];
  },
  selectableFields(obj) {
    return { type: str(obj.type) };
  },
};

export const serviceAccountStrategy: KindStrategy = {
  group: "",
  version: "v1",
  kind: "ServiceAccount",
  resource: "serviceaccounts",
  singular: "serviceaccount",
  shortNames: ["sa"],
  namespaced: true,
  hasGeneration: false,
  hasStatus: false,
  applyDefaults() {},
  ...simpleValidators({ namespaced: true, nameRule: nameIsDNSSubdomain }),
  columns: [NAME, column("Secrets", "string", "Number of secrets in the service account"), AGE],
  row(obj, now) {
    return [
      obj.metadata.name ?? "",
      arr(obj.secrets).length,
      sinceTimestamp(obj.metadata.creationTimestamp, now),
    ];
  },
};
