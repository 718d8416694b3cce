/**
 * apiregistration.k8s.io/v1 APIService (cluster-scoped), as kube-apiserver's aggregator serves
 * it: the name must be `<spec.version>.<spec.group>` (a path segment first); `spec.group` a DNS
 * subdomain (empty only for the legacy `v1`); `spec.version` a DNS-1035 label;
 * `groupPriorityMinimum` in 1–20000 and `versionPriority` in 1–1000; a local APIService (no
 * `service`) may have neither `caBundle` nor `insecureSkipTLSVerify`; a service reference needs
 * namespace, name and a valid port (defaulted to 443), and `insecureSkipTLSVerify` excludes a
 * `caBundle`. On create the status is reset, and a local APIService is marked Available at once
 * (`Local`, "Local APIServices are always available"); writes to the main resource keep the
 * status. Columns: NAME, SERVICE (`<namespace>/<name>` or `Local`), AVAILABLE (`True`, or
 * `False (<reason>)`), AGE.
 *
 * Whether a service-backed APIService is available, and where its requests go, is the API
 * server's aggregation (`src/apiserver/aggregator/`).
 *
 * @module
 */
import { sinceTimestamp } from "../duration.ts";
import { type FieldError, fieldInvalid, fieldNotSupported, fieldRequired } from "../errors.ts";
import type { KubeObject } from "../types.ts";
import { isDNS1035Label, isDNS1123Subdomain } from "../validation.ts";
import { AGE, column, NAME } from "./_columns.ts";
import { at, isObj, objs, str } from "./_util.ts";
import { nameIsPathSegment, validateObjectMeta, validateObjectMetaUpdate } from "./meta.ts";
import type { KindStrategy } from "./types.ts";

/** The Available condition kube sets on a local APIService. */
export const LOCAL_AVAILABLE = {
  type: "Available",
  status: "True",
  reason: "Local",
  message: "Local APIServices are always available",
} as const;

function specOf(obj: KubeObject): Record<string, unknown> {
  return isObj(obj.spec) ? obj.spec : {};
}

function validateApiServiceSpec(obj: KubeObject): FieldError[] {
  const spec = specOf(obj);
  const group = str(spec.group);
  const version = str(spec.version);
  const errs: FieldError[] = [];
  if (group === "" && version !== "v1") {
    errs.push(
      fieldRequired("spec.group", "only v1 may have an empty group and it better be legacy kube"),
    );
  }
  if (group !== "") {
    for (const m of isDNS1123Subdomain(group)) errs.push(fieldInvalid("spec.group", group, m));
  }
  for (const m of isDNS1035Label(version)) errs.push(fieldInvalid("spec.version", version, m));
  const groupPriority = Number(spec.groupPriorityMinimum ?? 0);
  if (!(groupPriority > 0 && groupPriority <= 20000)) {
    errs.push(
      fieldInvalid(
        "spec.groupPriorityMinimum",
        groupPriority,
        "must be positive and less than 20000",
      ),
    );
  }
  const versionPriority = Number(spec.versionPriority ?? 0);
  if (!(versionPriority > 0 && versionPriority <= 1000)) {
    errs.push(
      fieldInvalid("spec.versionPriority", versionPriority, "must be positive and less than 1000"),
    );
  }
  const caBundle = str(spec.caBundle);
  const insecure = spec.insecureSkipTLSVerify === true;
  const service = spec.service;
  if (!isObj(service)) {
    if (caBundle !== "") {
      // Go counts the decoded bytes of the []byte field.
      const bytes = Buffer.from(caBundle, "base64").length;
      errs.push(
        fieldInvalid(
          "spec.caBundle",
          `${bytes} bytes`,
          "local APIServices may not have a caBundle",
        ),
      );
    }
    if (insecure) {
      errs.push(
        fieldInvalid(
          "spec.insecureSkipTLSVerify",
          true,
          "local APIServices may not have insecureSkipTLSVerify",
        ),
      );
    }
    return errs;
  }
  if (str(service.namespace) === "") errs.push(fieldRequired("spec.service.namespace"));
  if (str(service.name) === "") errs.push(fieldRequired("spec.service.name"));
  const port = Number(service.port ?? 0);
  if (!(Number.isInteger(port) && port >= 1 && port <= 65535)) {
    errs.push(
      fieldInvalid(
        "spec.service.port",
        port,
        "port is not valid: must be between 1 and 65535, inclusive",
      ),
    );
  }
  if (insecure && caBundle !== "") {
    errs.push(
      fieldInvalid("spec.insecureSkipTLSVerify", true, "may not be true if caBundle is present"),
    );
  }
  return errs;
}

/** The name rule: a path segment, and exactly `<version>.<group>`. */
function validateName(obj: KubeObject): FieldError[] {
  const spec = specOf(obj);
  const required = `${str(spec.version)}.${str(spec.group)}`;
  return validateObjectMeta(obj.metadata, {
    namespaced: false,
    nameRule: (name, prefix) => {
      const segment = nameIsPathSegment(name, prefix);
      if (segment.length > 0) return segment;
      return name === required ? [] : [`must be \`spec.version+"."+spec.group\`: "${required}"`];
    },
  });
}

function validateStatus(obj: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  for (const [i, c] of objs(at(obj, "status", "conditions")).entries()) {
    const status = str(c.status);
    if (status !== "True" && status !== "False" && status !== "Unknown") {
      errs.push(
        fieldNotSupported(`status.conditions[${i}].status`, status, ["True", "False", "Unknown"]),
      );
    }
  }
  return errs;
}

/** The AVAILABLE cell: `True`, `False (<reason>)`, or `Unknown` without the condition. */
export function availableCell(obj: KubeObject): string {
  const available = objs(at(obj, "status", "conditions")).find((c) => c.type === "Available");
  if (!available) return "Unknown";
  const status = str(available.status);
  return status === "True" ? status : `${status} (${str(available.reason)})`;
}

export const apiServiceStrategy: KindStrategy = {
  group: "apiregistration.k8s.io",
  version: "v1",
  kind: "APIService",
  resource: "apiservices",
  singular: "apiservice",
  categories: ["api-extensions"],
  namespaced: false,
  hasGeneration: false,
  hasStatus: true,
  applyDefaults(obj) {
    const service = specOf(obj).service;
    if (isObj(service) && service.port === undefined) service.port = 443;
  },
  prepareForCreate(obj) {
    // PrepareForCreate: status reset; a local APIService is available at once.
    delete obj.status;
    if (!isObj(specOf(obj).service)) {
      obj.status = {
        conditions: [
          { ...LOCAL_AVAILABLE, lastTransitionTime: obj.metadata.creationTimestamp ?? null },
        ],
      };
    }
  },
  validate(obj) {
    return [...validateName(obj), ...validateApiServiceSpec(obj), ...validateStatus(obj)];
  },
  validateUpdate(obj, old) {
    return [
      ...validateObjectMetaUpdate(obj.metadata, old.metadata),
      ...validateName(obj),
      ...validateApiServiceSpec(obj),
      ...validateStatus(obj),
    ];
  },
  columns: [
    NAME,
    column("Service", "string", "The reference to the service that hosts this API endpoint."),
    column("Available", "string", "Whether this service is available."),
    AGE,
  ],
  row(obj, now) {
    const service = specOf(obj).service;
    return [
      obj.metadata.name ?? "",
      isObj(service) ? `${str(service.namespace)}/${str(service.name)}` : "Local",
      availableCell(obj),
      sinceTimestamp(obj.metadata.creationTimestamp, now),
    ];
  },
};
