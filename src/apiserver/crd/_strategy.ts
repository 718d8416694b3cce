/**
 * The strategy of `apiextensions.k8s.io/v1` CustomResourceDefinitions, as kube's
 * apiextensions-apiserver applies it: defaults (`singular`, `listKind`, `conversion`), the
 * create-time status reset with `storedVersions`, validation with kube's field paths and
 * messages, and the default Table (`kubectl get crd`: NAME, CREATED AT).
 *
 * @module
 */
import { isDeepStrictEqual } from "node:util";
import {
  type FieldError,
  fieldForbidden,
  fieldInvalid,
  fieldNotSupported,
  fieldRequired,
} from "../../api/errors.ts";
import {
  type KindStrategy,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from "../../api/kinds/index.ts";
import type { KubeObject } from "../../api/types.ts";
import { isDNS1035Label, isDNS1123Subdomain } from "../../api/validation.ts";
import { checkRules } from "./_rules.ts";
import { checkStructural } from "./_structural.ts";
import { CRD_GROUP, type CrdSpec, type CrdVersion, specOf } from "./_types.ts";

const SCOPES = ["Cluster", "Namespaced"];
const CONVERSIONS = ["None", "Webhook"];
const COLUMN_TYPES = ["integer", "number", "string", "boolean", "date"];
const COLUMN_FORMATS = [
  "int32",
  "int64",
  "float",
  "double",
  "byte",
  "date",
  "date-time",
  "password",
];

const noName = (): string[] => [];

function applyCrdDefaults(crd: KubeObject): void {
  const spec = crd.spec as Partial<CrdSpec> | undefined;
  if (!spec || typeof spec !== "object") return;
  const names = spec.names;
  if (names && typeof names === "object") {
    if (!names.singular && typeof names.kind === "string")
      names.singular = names.kind.toLowerCase();
    if (!names.listKind && typeof names.kind === "string") names.listKind = `${names.kind}List`;
  }
  if (!spec.conversion) spec.conversion = { strategy: "None" };
  const webhook = (
    spec.conversion as { webhook?: { clientConfig?: { service?: { port?: number } } } }
  ).webhook;
  const service = webhook?.clientConfig?.service;
  if (service && service.port === undefined) service.port = 443;
}

function dns1035(path: string, value: string, errs: FieldError[]): void {
  const problems = isDNS1035Label(value);
  if (problems.length > 0) errs.push(fieldInvalid(path, value, problems.join(",")));
}

function validateNames(spec: CrdSpec, errs: FieldError[]): void {
  const path = "spec.names";
  const names = spec.names ?? ({} as CrdSpec["names"]);
  if (!names.plural) errs.push(fieldRequired(`${path}.plural`, ""));
  else dns1035(`${path}.plural`, names.plural, errs);
  if (names.singular) dns1035(`${path}.singular`, names.singular, errs);
  if (!names.kind) errs.push(fieldRequired(`${path}.kind`, ""));
  else if (isDNS1035Label(names.kind.toLowerCase()).length > 0)
    errs.push(
      fieldInvalid(
        `${path}.kind`,
        names.kind,
        "may have mixed case, but should otherwise match: [a-z]([-a-z0-9]*[a-z0-9])?",
      ),
    );
  if (!names.listKind) errs.push(fieldRequired(`${path}.listKind`, ""));
  else if (names.listKind === names.kind)
    errs.push(
      fieldInvalid(`${path}.listKind`, names.listKind, "kind and listKind may not be the same"),
    );
  for (const [i, s] of (names.shortNames ?? []).entries())
    dns1035(`${path}.shortNames[${i}]`, s, errs);
  for (const [i, s] of (names.categories ?? []).entries())
    dns1035(`${path}.categories[${i}]`, s, errs);
}

function validateRootSchema(version: CrdVersion, path: string, errs: FieldError[]): void {
  const schema = version.schema?.openAPIV3Schema;
  if (!schema || typeof schema !== "object") {
    errs.push(fieldRequired(`${path}.schema.openAPIV3Schema`, "schemas are required"));
    return;
  }
  errs.push(...checkStructural(schema, `${path}.schema.openAPIV3Schema`));
}

function validateColumns(version: CrdVersion, path: string, errs: FieldError[]): void {
  (version.additionalPrinterColumns ?? []).forEach((c, i) => {
    const at = `${path}.additionalPrinterColumns[${i}]`;
    if (!c.name) errs.push(fieldRequired(`${at}.name`, ""));
    if (!COLUMN_TYPES.includes(c.type))
      errs.push(fieldNotSupported(`${at}.type`, c.type, COLUMN_TYPES));
    if (c.format && !COLUMN_FORMATS.includes(c.format))
      errs.push(fieldNotSupported(`${at}.format`, c.format, COLUMN_FORMATS));
    if (!c.jsonPath) errs.push(fieldRequired(`${at}.JSONPath`, ""));
    if (c.priority !== undefined && c.priority < 0)
      errs.push(fieldInvalid(`${at}.priority`, c.priority, "must be greater than or equal to 0"));
  });
}

function validateScale(version: CrdVersion, path: string, errs: FieldError[]): void {
  const scale = version.subresources?.scale;
  if (!scale) return;
  const at = `${path}.subresources.scale`;
  if (!scale.specReplicasPath) errs.push(fieldRequired(`${at}.specReplicasPath`, ""));
  else if (!scale.specReplicasPath.startsWith(".spec."))
    errs.push(
      fieldInvalid(
        `${at}.specReplicasPath`,
        scale.specReplicasPath,
        "should be a json path under .spec",
      ),
    );
  if (!scale.statusReplicasPath) errs.push(fieldRequired(`${at}.statusReplicasPath`, ""));
  else if (!scale.statusReplicasPath.startsWith(".status."))
    errs.push(
      fieldInvalid(
        `${at}.statusReplicasPath`,
        scale.statusReplicasPath,
        "should be a json path under .status",
      ),
    );
  if (scale.labelSelectorPath && !/^\.(spec|status)\./.test(scale.labelSelectorPath))
    errs.push(
      fieldInvalid(
        `${at}.labelSelectorPath`,
        scale.labelSelectorPath,
        "should be a json path under either .spec or .status",
      ),
    );
}

function validateVersions(spec: CrdSpec, errs: FieldError[]): void {
  const versions = Array.isArray(spec.versions) ? spec.versions : [];
  if (versions.length === 0) {
    errs.push(
      fieldRequired("spec.versions", "must have exactly one version marked as storage version"),
    );
    return;
  }
  const storage = versions.filter((v) => v.storage === true).length;
  if (storage !== 1)
    errs.push(
      fieldInvalid(
        "spec.versions",
        versions.map((v) => v.name),
        "must have exactly one version marked as storage version",
      ),
    );
  // kube's internal CRD keeps one top-level schema when every version has the same one, so its
  // errors name `spec.validation.openAPIV3Schema` (for a single-version CRD too).
  const first = versions[0]?.schema?.openAPIV3Schema;
  const shared =
    first !== undefined &&
    versions.every((v) => isDeepStrictEqual(v.schema?.openAPIV3Schema, first));
  if (shared) {
    const path = "spec.validation.openAPIV3Schema";
    if (typeof first === "object" && first !== null) errs.push(...checkStructural(first, path));
    errs.push(...checkRules(first, path));
  }
  const seen = new Set<string>();
  versions.forEach((v, i) => {
    const path = `spec.versions[${i}]`;
    if (!v.name) errs.push(fieldRequired(`${path}.name`, ""));
    else dns1035(`${path}.name`, v.name, errs);
    if (v.name && seen.has(v.name))
      errs.push(
        fieldInvalid(
          "spec.versions",
          versions.map((x) => x.name),
          "must contain unique version names",
        ),
      );
    seen.add(v.name);
    if (!shared) {
      validateRootSchema(v, path, errs);
      errs.push(...checkRules(v.schema?.openAPIV3Schema, `${path}.schema.openAPIV3Schema`));
    }
    validateColumns(v, path, errs);
    validateScale(v, path, errs);
  });
  if (!versions.some((v) => v.served === true))
    errs.push(
      fieldInvalid(
        "spec.versions",
        versions.map((v) => v.name),
        "must have at least one served version",
      ),
    );
}

function validateSpec(crd: KubeObject): FieldError[] {
  const errs: FieldError[] = [];
  const spec = specOf(crd);
  const name = crd.metadata.name ?? "";
  const plural = spec.names?.plural ?? "";
  if (name !== `${plural}.${spec.group ?? ""}`)
    errs.push(fieldInvalid("metadata.name", name, `must be spec.names.plural+"."+spec.group`));
  if (!spec.group) errs.push(fieldRequired("spec.group", ""));
  else {
    const problems = isDNS1123Subdomain(spec.group);
    if (problems.length > 0) errs.push(fieldInvalid("spec.group", spec.group, problems.join(",")));
    if (!spec.group.includes("."))
      errs.push(fieldInvalid("spec.group", spec.group, "should be a domain with at least one dot"));
  }
  if (!spec.scope) errs.push(fieldRequired("spec.scope", ""));
  else if (!SCOPES.includes(spec.scope))
    errs.push(fieldNotSupported("spec.scope", spec.scope, SCOPES));
  validateNames(spec, errs);
  validateVersions(spec, errs);
  const strategy = spec.conversion?.strategy;
  if (strategy !== undefined && !CONVERSIONS.includes(strategy))
    errs.push(fieldNotSupported("spec.conversion.strategy", strategy, CONVERSIONS));
  const webhook = (spec.conversion as { webhook?: { conversionReviewVersions?: unknown[] } })
    ?.webhook;
  if (strategy === "Webhook") {
    if (!webhook) {
      errs.push(
        fieldRequired("spec.conversion.webhook", "required when strategy is set to Webhook"),
      );
    } else {
      const versions = (webhook.conversionReviewVersions ?? []).map(String);
      if (!versions.some((v) => v === "v1" || v === "v1beta1")) {
        errs.push(
          fieldRequired(
            "spec.conversion.webhook.conversionReviewVersions",
            "must include at least one of v1, v1beta1",
          ),
        );
      }
    }
  } else if (strategy !== undefined && webhook) {
    errs.push(
      fieldForbidden(
        "spec.conversion.webhook",
        "should not be set when strategy is not set to Webhook",
      ),
    );
  }
  return errs;
}

function storageVersion(crd: KubeObject): string | undefined {
  return specOf(crd).versions?.find((v) => v.storage)?.name;
}

function addStoredVersion(crd: KubeObject): void {
  const storage = storageVersion(crd);
  const status = (crd.status ?? {}) as { storedVersions?: string[] };
  crd.status = status;
  const stored = status.storedVersions ?? [];
  if (storage && !stored.includes(storage)) status.storedVersions = [...stored, storage];
}

export const crdStrategy: KindStrategy = {
  group: CRD_GROUP,
  version: "v1",
  kind: "CustomResourceDefinition",
  resource: "customresourcedefinitions",
  singular: "customresourcedefinition",
  namespaced: false,
  hasGeneration: true,
  hasStatus: true,
  applyDefaults: applyCrdDefaults,
  prepareForCreate(crd) {
    crd.status = {};
    addStoredVersion(crd);
  },
  prepareForUpdate(crd) {
    addStoredVersion(crd);
  },
  validate(crd) {
    return [
      ...validateObjectMeta(crd.metadata, { namespaced: false, nameRule: noName }),
      ...validateSpec(crd),
    ];
  },
  validateUpdate(crd, old) {
    const errs = [...validateObjectMetaUpdate(crd.metadata, old.metadata), ...validateSpec(crd)];
    const was = specOf(old);
    const now = specOf(crd);
    if (was.group !== now.group)
      errs.push(fieldInvalid("spec.group", now.group, "field is immutable"));
    return errs;
  },
  columns: [
    {
      name: "Name",
      type: "string",
      format: "name",
      description: "Name must be unique within a namespace.",
      priority: 0,
    },
    {
      name: "Created At",
      type: "date",
      format: "",
      description:
        "CreationTimestamp is a timestamp representing the server time when this object was created.",
      priority: 0,
    },
  ],
  row(crd) {
    return [crd.metadata.name ?? "", crd.metadata.creationTimestamp ?? ""];
  },
};
