/**
 * What one served version of an Established CRD becomes in the API server: its resource-table
 * entry (discovery, routing, storage key) and its strategy (metadata validation, generation,
 * status handling, Table columns from `additionalPrinterColumns`), as kube's
 * apiextensions-apiserver builds them per CRD.
 *
 * @module
 */
import { sinceTimestamp } from "../../api/duration.ts";
import type { FieldError } from "../../api/errors.ts";
import {
  type KindStrategy,
  type TableColumn,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from "../../api/kinds/index.ts";
import type { KubeObject } from "../../api/types.ts";
import { isDNS1123Subdomain } from "../../api/validation.ts";
import type { ResourceInfo, SubresourceInfo } from "../resources.ts";
import { applySchema } from "./_apply.ts";
import { evaluateJsonPath, parseJsonPath } from "./_jsonpath.ts";
import { ruleValidator } from "./_rules.ts";
import {
  fillDefaults,
  hasDefaults,
  type JsonSchema,
  pruneAndDefault,
  validateSchema,
} from "./_schema.ts";
import { type CrdSpec, type CrdVersion, type PrinterColumn, specOf } from "./_types.ts";
import { compareVersions } from "./_versions.ts";

const VERBS = ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"];
const NAME_DESCRIPTION =
  "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const DEFAULT_COLUMNS: PrinterColumn[] = [
  {
    name: "Age",
    type: "date",
    jsonPath: ".metadata.creationTimestamp",
    description:
      "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
  },
];

/**
 * The warning every request to a deprecated version gets: its `deprecationWarning`, or kube's
 * default naming the highest-priority served, non-deprecated version above it, if any.
 */
export function deprecationWarning(spec: CrdSpec, version: CrdVersion): string | undefined {
  if (!version.deprecated) return undefined;
  if (version.deprecationWarning !== undefined) return version.deprecationWarning;
  const kind = spec.names.kind;
  const text = `${spec.group}/${version.name} ${kind} is deprecated`;
  const better = (spec.versions ?? [])
    .filter((v) => v.served && !v.deprecated && compareVersions(version.name, v.name) > 0)
    .map((v) => v.name)
    .sort(compareVersions)[0];
  return better ? `${text}; use ${spec.group}/${better} ${kind}` : text;
}

/** The resource-table entry of `version` of `crd`. */
export function servedResource(crd: KubeObject, version: CrdVersion): ResourceInfo {
  const spec = specOf(crd);
  const storage = spec.versions?.find((v) => v.storage)?.name;
  const subresources: SubresourceInfo[] = [];
  if (version.subresources?.status)
    subresources.push({ name: "status", verbs: ["get", "patch", "update"] });
  const scale = version.subresources?.scale;
  const warning = deprecationWarning(spec, version);
  if (scale) {
    subresources.push({
      name: "scale",
      kind: { group: "autoscaling", version: "v1", kind: "Scale" },
      verbs: ["get", "patch", "update"],
    });
  }
  return {
    group: spec.group,
    version: version.name,
    kind: spec.names.kind,
    listKind: spec.names.listKind ?? `${spec.names.kind}List`,
    resource: spec.names.plural,
    singular: spec.names.singular ?? spec.names.kind.toLowerCase(),
    namespaced: spec.scope === "Namespaced",
    shortNames: spec.names.shortNames ?? [],
    categories: spec.names.categories ?? [],
    verbs: VERBS,
    subresources,
    // Other served versions are views of the storage version (`None` conversion).
    ...(storage && storage !== version.name ? { storageVersion: storage } : {}),
    custom: {
      apply: applySchema(version.schema?.openAPIV3Schema as JsonSchema | undefined),
      ...(scale ? { scale } : {}),
      ...(warning !== undefined ? { deprecationWarning: warning } : {}),
    },
  };
}

function nameRule(name: string, prefix: boolean): string[] {
  return isDNS1123Subdomain(prefix ? `${name}a` : name);
}

function withoutMetadata(obj: KubeObject, dropStatus: boolean): string {
  const { metadata: _m, status, ...rest } = obj as KubeObject & { status?: unknown };
  return JSON.stringify(dropStatus ? rest : { ...rest, status });
}

function cell(values: unknown[], column: PrinterColumn, now: number): unknown {
  if (values.length === 0) return null;
  if (column.type === "date") return sinceTimestamp(values[0], now);
  if (values.length === 1) {
    const v = values[0];
    return v !== null && typeof v === "object" ? JSON.stringify(v) : v;
  }
  return values.map((v) => (typeof v === "object" ? JSON.stringify(v) : String(v))).join(",");
}

/**
 * Objects as read from the store with `schema`'s defaults filled. The store hands out the same
 * (frozen) instance until the object changes, so each one is walked once per schema.
 */
function readDefaulter(schema: JsonSchema | undefined): (obj: KubeObject) => KubeObject {
  const seen = new WeakMap<KubeObject, KubeObject>();
  return (obj) => {
    let shown = seen.get(obj);
    if (!shown) {
      shown = obj;
      if (fillDefaults(obj, schema, true)) {
        shown = structuredClone(obj);
        fillDefaults(shown, schema);
      }
      seen.set(obj, shown);
    }
    return shown;
  };
}

/** The strategy of `version` of `crd`: generic metadata rules and the CRD's printer columns. */
export function servedStrategy(crd: KubeObject, version: CrdVersion): KindStrategy {
  const info = servedResource(crd, version);
  const hasStatus = !!version.subresources?.status;
  const printer = version.additionalPrinterColumns?.length
    ? version.additionalPrinterColumns
    : DEFAULT_COLUMNS;
  const compiled = printer.map((c) => {
    try {
      return parseJsonPath(c.jsonPath);
    } catch {
      return undefined;
    }
  });
  const columns: TableColumn[] = [
    { name: "Name", type: "string", format: "name", description: NAME_DESCRIPTION, priority: 0 },
    ...printer.map((c) => ({
      name: c.name,
      type: c.type as TableColumn["type"],
      format: c.format ?? "",
      description: c.description ?? "",
      priority: c.priority ?? 0,
    })),
  ];
  const schema = version.schema?.openAPIV3Schema as JsonSchema | undefined;
  const rules = ruleValidator(schema as Record<string, unknown> | undefined);
  const validateBody = (obj: KubeObject, old?: KubeObject): FieldError[] => {
    const errs = validateSchema(obj, schema);
    return rules ? [...errs, ...rules(obj, old, errs)] : errs;
  };
  const validate = (obj: KubeObject): FieldError[] => [
    ...validateObjectMeta(obj.metadata, { namespaced: info.namespaced, nameRule }),
    ...validateBody(obj),
  ];
  return {
    group: info.group,
    version: info.version,
    kind: info.kind,
    resource: info.resource,
    singular: info.singular,
    shortNames: info.shortNames,
    categories: info.categories,
    namespaced: info.namespaced,
    hasGeneration: true,
    hasStatus,
    applyDefaults: (obj) => pruneAndDefault(obj, schema, true),
    validate,
    validateUpdate: (obj, old) => [
      ...validateObjectMetaUpdate(obj.metadata, old.metadata),
      ...validateBody(obj, old),
    ],
    ...(hasDefaults(schema) ? { fromStore: readDefaulter(schema) } : {}),
    generationChanged: (obj, old) =>
      withoutMetadata(obj, hasStatus) !== withoutMetadata(old, hasStatus),
    columns,
    row(obj, now) {
      return [
        obj.metadata.name ?? "",
        ...printer.map((c, i) => {
          const steps = compiled[i];
          return steps ? cell(evaluateJsonPath(obj, steps), c, now) : null;
        }),
      ];
    },
  };
}
