/**
 * Generates `src/apiserver/openapi/_schemas.generated.json`: the OpenAPI v3 component schemas of
 * every kind a stock Kubernetes 1.32 API server serves (the group-versions in
 * {@link STOCK_GROUP_VERSIONS}) and of everything they reference, named as kube-apiserver names
 * them (`io.k8s.api.core.v1.PodSpec`, `io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta`, …).
 *
 * No npm package ships Kubernetes 1.32's OpenAPI documents themselves; two maintained packages
 * ship code generated from exactly that version's `swagger.json` (v1.32.0), and this script reads
 * both at generation time only (devDependencies):
 * - `@kubernetes/client-node` 1.1.x (installed as `kubernetes-client-node-1.32`), whose models
 *   are generated from the whole v1.32.0 document: every type including the status ones, every
 *   field with its wire name, JSON type, format (`int32`, `int64`, `double`, `byte`,
 *   `date-time`), required-ness (`?`) and description. `models/all.js` lists the models of that
 *   version (the package also carries stale files of older versions, which are ignored).
 * - `cdk8s-plus-32`, whose `k8s` module is cdk8s' import of the v1.32.0 document (its jsii
 *   assembly keeps each definition's name and each kind's apiVersion/kind): schema names,
 *   group-version-kinds, which fields are Quantities (client-node flattens them to strings), and
 *   the descriptions client-node drops on fields that are a plain reference (`metadata`, `spec`).
 *   cdk8s leaves out `status`, so a type only reachable through status is named after the
 *   package of the types that reference it (the script fails when that is ambiguous).
 *
 * What both lose, and so this file lacks: the line breaks inside descriptions (kept as spaces),
 * `x-kubernetes-*` list/map/patch extensions, enum lists, and the types behind `any` (RawExtension,
 * FieldsV1, JSON), which become free-form (`x-kubernetes-preserve-unknown-fields`).
 *
 * Deterministic: schemas and properties are emitted in sorted order and nothing depends on time or
 * the machine. Run `node --import tsx scripts/gen-openapi.ts` after upgrading either package; a
 * test fails when the committed file differs from what this produces.
 *
 * @module
 */

import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

type Schema = Record<string, unknown>;

export interface GeneratedSchemas {
  source: string;
  /** The group-versions a stock kube-apiserver of this version serves (`v1`, `apps/v1`, …). */
  groupVersions: string[];
  schemas: Record<string, Schema>;
}

/**
 * What a stock kube-apiserver 1.32 serves: its GA group-versions. Every beta and alpha API of 1.32
 * is off by default (flowcontrol v1beta3, the last legacy beta enabled by default, was removed in
 * 1.32).
 */
export const STOCK_GROUP_VERSIONS = [
  "v1",
  "admissionregistration.k8s.io/v1",
  "apiextensions.k8s.io/v1",
  "apiregistration.k8s.io/v1",
  "apps/v1",
  "authentication.k8s.io/v1",
  "authorization.k8s.io/v1",
  "autoscaling/v1",
  "autoscaling/v2",
  "batch/v1",
  "certificates.k8s.io/v1",
  "coordination.k8s.io/v1",
  "discovery.k8s.io/v1",
  "events.k8s.io/v1",
  "flowcontrol.apiserver.k8s.io/v1",
  "networking.k8s.io/v1",
  "node.k8s.io/v1",
  "policy/v1",
  "rbac.authorization.k8s.io/v1",
  "scheduling.k8s.io/v1",
  "storage.k8s.io/v1",
];

const META = "io.k8s.apimachinery.pkg.apis.meta.v1";

/**
 * Quantity fields of types only reachable through status, which cdk8s does not cover and
 * client-node types as strings (the generator fails if one stops existing).
 */
const STATUS_QUANTITIES = [
  "io.k8s.api.autoscaling.v2.MetricValueStatus#averageValue",
  "io.k8s.api.autoscaling.v2.MetricValueStatus#value",
  "io.k8s.api.core.v1.ContainerStatus#allocatedResources",
  "io.k8s.api.core.v1.NodeStatus#allocatable",
  "io.k8s.api.core.v1.NodeStatus#capacity",
  "io.k8s.api.core.v1.PersistentVolumeClaimStatus#allocatedResources",
  "io.k8s.api.core.v1.PersistentVolumeClaimStatus#capacity",
  "io.k8s.api.core.v1.ResourceQuotaStatus#hard",
  "io.k8s.api.core.v1.ResourceQuotaStatus#used",
];
const INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
const QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity";
const TIME = `${META}.Time`;
const MICRO_TIME = `${META}.MicroTime`;

/** The meta types every group-version document uses, whatever kinds it serves. */
const META_ROOTS = [
  `${META}.APIGroup`,
  `${META}.APIGroupList`,
  `${META}.APIResourceList`,
  `${META}.APIVersions`,
  `${META}.DeleteOptions`,
  `${META}.Status`,
  `${META}.WatchEvent`,
];

/**
 * Types of `meta/v1` that no cdk8s type names (they appear only in status, discovery and watch
 * documents); their client-node model is `V1<Name>`.
 */
const META_ONLY = [
  "APIGroup",
  "APIGroupList",
  "APIResource",
  "APIResourceList",
  "APIVersions",
  "Condition",
  "GroupVersionForDiscovery",
  "ServerAddressByClientCIDR",
  "WatchEvent",
];

/**
 * The scalar wrappers of apimachinery, which neither package models (nor describes): their JSON
 * form as kube-apiserver's v3 documents give it (`oneOf` and no `type` for the two that take
 * either JSON type, which is also what makes `kubectl explain` print `<IntOrString>` and
 * `<Quantity>`), with descriptions of our own.
 */
const SCALARS: Record<string, Schema> = {
  [INT_OR_STRING]: {
    description: "An int32 or a string (a port number or a port name, a count or a percentage).",
    format: "int-or-string",
    oneOf: [{ type: "integer" }, { type: "string" }],
  },
  [QUANTITY]: {
    description:
      "A fixed-point number with an optional suffix: binary (Ki, Mi, Gi, Ti, Pi, Ei), decimal (m, k, M, G, T, P, E) or an exponent (e3), as a string or a JSON number.",
    oneOf: [{ type: "string" }, { type: "number" }],
  },
  [TIME]: {
    description: "A time in RFC 3339 form, to the second.",
    type: "string",
    format: "date-time",
  },
  [MICRO_TIME]: {
    description: "A time in RFC 3339 form, to the microsecond.",
    type: "string",
    format: "date-time",
  },
  [`${META}.Patch`]: {
    description: "The body of a PATCH request, in the form its content type names.",
    type: "object",
  },
};

const require = createRequire(import.meta.url);
const clientDir = dirname(dirname(require.resolve("kubernetes-client-node-1.32")));
const modelsDir = join(clientDir, "dist", "gen", "models");
const cdk8sDir = dirname(require.resolve("cdk8s-plus-32"));
const cdk8sRoot = dirname(cdk8sDir);

// ---- client-node: the structure of every type ----

interface Field {
  /** The wire name (`x-kubernetes-preserve-unknown-fields`, `$ref`, `podIP`). */
  wire: string;
  /** client-node's TypeScript type string: `string`, `Array<V1Container>`, `{ [key: string]: string; }`. */
  type: string;
  format: string;
  required: boolean;
  description: string | undefined;
}

interface Model {
  name: string;
  description: string | undefined;
  fields: Field[];
}

/** Undoes openapi-generator's escaping inside doc comments (`\'`, `\"`, `*_/`, `/_*`). */
function unescapeDoc(text: string): string {
  return text
    .replace(/\\\\\\\\/g, "\\")
    .replace(/\\(["'\\])/g, "$1")
    .replace(/\*_\//g, "*/")
    .replace(/\/_\*/g, "/*");
}

function docOf(node: ts.Node): string | undefined {
  const docs = ts.getJSDocCommentsAndTags(node).filter(ts.isJSDoc);
  const text = docs
    .map((d) => (typeof d.comment === "string" ? d.comment : ts.getTextOfJSDocComment(d.comment)))
    .filter((c): c is string => c !== undefined && c !== "")
    .join("\n");
  return text === "" ? undefined : unescapeDoc(text);
}

/** The models of this client version: the ones `models/all.js` exports. */
function modelNames(): string[] {
  const text = readFileSync(join(modelsDir, "all.js"), "utf8");
  const names = [...text.matchAll(/'\.\.\/models\/(\w+)\.js'/g)].map((m) => m[1]!);
  if (names.length < 300) throw new Error(`only ${names.length} models in ${modelsDir}/all.js`);
  return names;
}

function readModel(name: string): Model {
  const js = readFileSync(join(modelsDir, `${name}.js`), "utf8");
  const match = new RegExp(`${name}\\.attributeTypeMap = (\\[[\\s\\S]*?\\]);`).exec(js);
  if (match?.[1] === undefined) throw new Error(`no attributeTypeMap in model ${name}`);
  const attributes = JSON.parse(match[1]) as {
    name: string;
    baseName: string;
    type: string;
    format: string;
  }[];
  const dts = join(modelsDir, `${name}.d.ts`);
  const file = ts.createSourceFile(dts, readFileSync(dts, "utf8"), ts.ScriptTarget.Latest, true);
  const cls = file.statements.find(ts.isClassDeclaration);
  if (cls === undefined) throw new Error(`no class in ${dts}`);
  const members = new Map<string, ts.PropertyDeclaration>();
  for (const m of cls.members) {
    if (ts.isPropertyDeclaration(m) && ts.isStringLiteral(m.name)) members.set(m.name.text, m);
  }
  const fields = attributes.map((a): Field => {
    const member = members.get(a.name);
    if (member === undefined) throw new Error(`${name}.${a.name} is not declared`);
    return {
      wire: a.baseName,
      type: a.type,
      format: a.format,
      required: member.questionToken === undefined,
      description: docOf(member),
    };
  });
  return { name, description: docOf(cls), fields };
}

// ---- cdk8s: names, group-version-kinds, Quantities, reference descriptions ----

interface JsiiType {
  kind: string;
  fqn: string;
  docs?: { custom?: { schema?: string }; summary?: string; remarks?: string };
  properties?: {
    name: string;
    static?: boolean;
    type: JsiiTypeRef;
    docs?: { custom?: { schema?: string }; summary?: string; remarks?: string };
  }[];
}

type JsiiTypeRef = {
  primitive?: string;
  fqn?: string;
  collection?: { kind: string; elementtype: JsiiTypeRef };
};

interface Cdk8sField {
  quantity: boolean;
  description: string | undefined;
}

interface Cdk8s {
  /** Every definition name cdk8s keeps (`io.k8s.api.core.v1.PodSpec`). */
  names: Set<string>;
  /** Fields by definition name, then wire name. */
  fields: Map<string, Map<string, Cdk8sField>>;
  /** Group-version-kind by definition name, for top-level kinds and their lists. */
  gvks: Map<string, { group: string; version: string; kind: string }>;
}

function jsiiDoc(docs: JsiiType["docs"]): string | undefined {
  const parts = [docs?.summary, docs?.remarks].filter((p): p is string => !!p);
  return parts.length === 0 ? undefined : unescapeDoc(parts.join(" "));
}

function isQuantity(ref: JsiiTypeRef): boolean {
  if (ref.fqn !== undefined) return ref.fqn.endsWith(".k8s.Quantity");
  return ref.collection !== undefined && isQuantity(ref.collection.elementtype);
}

function readCdk8s(): Cdk8s {
  const assembly = JSON.parse(readFileSync(join(cdk8sRoot, ".jsii"), "utf8")) as {
    types: Record<string, JsiiType>;
  };
  const names = new Set<string>();
  const fields = new Map<string, Map<string, Cdk8sField>>();
  for (const type of Object.values(assembly.types)) {
    const schema = type.docs?.custom?.schema;
    if (schema === undefined || !schema.startsWith("io.k8s.")) continue;
    names.add(schema);
    if (type.kind !== "interface") continue;
    const byWire = fields.get(schema) ?? new Map<string, Cdk8sField>();
    for (const p of type.properties ?? []) {
      const wire = p.docs?.custom?.schema?.split("#")[1];
      if (wire === undefined || p.static) continue;
      byWire.set(wire, { quantity: isQuantity(p.type), description: jsiiDoc(p.docs) });
    }
    fields.set(schema, byWire);
  }
  // The kinds' apiVersion and kind are values, in the module's code.
  const code = readFileSync(join(cdk8sDir, "imports", "k8s.js"), "utf8");
  const gvks = new Map<string, { group: string; version: string; kind: string }>();
  const kindRe =
    /@schema (io\.k8s\.[\w.-]+)\s*\*\/\s*class Kube\w+ [\s\S]*?static GVK = \{\s*apiVersion: '([^']+)',\s*kind: '([^']+)',/g;
  for (const m of code.matchAll(kindRe)) {
    const [, schema, apiVersion, kind] = m as unknown as [string, string, string, string];
    const slash = apiVersion.indexOf("/");
    gvks.set(schema, {
      group: slash === -1 ? "" : apiVersion.slice(0, slash),
      version: slash === -1 ? apiVersion : apiVersion.slice(slash + 1),
      kind,
    });
  }
  if (gvks.size < 100) throw new Error(`only ${gvks.size} kinds found in cdk8s' k8s module`);
  return { names, fields, gvks };
}

// ---- naming: client-node model ↔ definition name ----

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/**
 * client-node names a model after the last two dot-separated parts of its definition
 * (`v1.PodSpec` → `V1PodSpec`), taking one more part while two definitions would collide
 * (`core.v1.Event` → `CoreV1Event`). So a definition's model is the shortest such suffix that is
 * a model.
 */
function modelOf(definition: string, models: Set<string>): string | undefined {
  const parts = definition.split(".");
  for (let n = 2; n <= parts.length; n++) {
    const candidate = parts
      .slice(-n)
      .map((p) => p.split("-").map(cap).join(""))
      .join("");
    if (models.has(candidate)) return candidate;
  }
  return undefined;
}

/** `io.k8s.api.core.v1.PodSpec` → `io.k8s.api.core.v1`. */
function packageOf(definition: string): string {
  return definition.slice(0, definition.lastIndexOf("."));
}

/** The `V1`, `V2beta1`, … a model name starts with, after a group prefix. */
function versionPrefixOf(model: string): string | undefined {
  return /^(?:[A-Z][a-z]+)*?(V\d+(?:(?:alpha|beta)\d+)?)[A-Z]/.exec(model)?.[1];
}

/** Referenced model names in a client-node type string. */
function referencedModels(type: string, models: Set<string>): string[] {
  return [...type.matchAll(/\b[A-Z]\w*\b/g)].map((m) => m[0]).filter((t) => models.has(t));
}

function nameModels(models: Map<string, Model>, cdk8s: Cdk8s): Map<string, string> {
  const modelSet = new Set(models.keys());
  const names = new Map<string, string>();
  for (const definition of [...cdk8s.names].sort()) {
    const model = modelOf(definition, modelSet);
    if (model !== undefined && !names.has(model)) names.set(model, definition);
  }
  for (const type of META_ONLY) {
    if (models.has(`V1${type}`)) names.set(`V1${type}`, `${META}.${type}`);
  }
  // A model named with its group (`CoreV1Event`) whose definition cdk8s dropped (it keeps one
  // kind per name: `events.k8s.io/v1` Event, not core's): the package of that group-version.
  const packages = new Set([...names.values()].map(packageOf));
  for (const model of [...models.keys()].sort()) {
    if (names.has(model)) continue;
    const m = /^([A-Z][a-z]+)(V\d+(?:(?:alpha|beta)\d+)?)([A-Z]\w*)$/.exec(model);
    if (m === null) continue;
    const [, group, version, type] = m as unknown as [string, string, string, string];
    const suffix = `.${group.toLowerCase()}.${version.toLowerCase()}`;
    const pkg = [...packages].filter((p) => p.endsWith(suffix));
    if (pkg.length === 1) names.set(model, `${pkg[0]}.${type}`);
  }
  // Types only reachable through status: the package of their referrers, when all agree.
  for (let changed = true; changed; ) {
    changed = false;
    const candidates = new Map<string, Set<string>>();
    for (const [model, definition] of [...names].sort()) {
      for (const field of models.get(model)!.fields) {
        for (const ref of referencedModels(field.type, modelSet)) {
          if (names.has(ref)) continue;
          const pkg = packageOf(definition);
          if (!pkg.endsWith(`.${versionPrefixOf(ref)?.toLowerCase()}`)) continue;
          const set = candidates.get(ref) ?? new Set<string>();
          set.add(pkg);
          candidates.set(ref, set);
        }
      }
    }
    for (const [model, packages] of [...candidates].sort()) {
      if (packages.size !== 1) {
        throw new Error(`cannot tell the package of ${model}: ${[...packages].join(", ")}`);
      }
      const version = versionPrefixOf(model)!;
      names.set(
        model,
        `${[...packages][0]}.${model.slice(model.indexOf(version) + version.length)}`,
      );
      changed = true;
    }
  }
  return names;
}

// ---- schemas ----

function refTo(name: string): Schema {
  return { $ref: `#/components/schemas/${name}` };
}

interface Context {
  models: Map<string, Model>;
  names: Map<string, string>;
  modelSet: Set<string>;
}

/** Schema of a client-node type string; `quantity` when cdk8s says the value is a Quantity. */
function schemaOf(type: string, format: string, quantity: boolean, ctx: Context): Schema {
  const array = /^Array<(.+)>$/.exec(type);
  if (array) return { type: "array", items: itemSchema(array[1]!, format, quantity, ctx) };
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    return { type: "object", additionalProperties: itemSchema(map[1]!, format, quantity, ctx) };
  }
  switch (type) {
    case "string":
      if (quantity) return refTo(QUANTITY);
      return format === "" ? { type: "string" } : { type: "string", format };
    case "number":
      if (format === "double" || format === "float") return { type: "number", format };
      if (format === "int32" || format === "int64") return { type: "integer", format };
      throw new Error(`number without a known format: ${format}`);
    case "boolean":
      return { type: "boolean" };
    case "Date":
      return refTo(TIME);
    case "IntOrString":
      return refTo(INT_OR_STRING);
    case "any":
      return { "x-kubernetes-preserve-unknown-fields": true };
  }
  if (format === "date-time-micro") return refTo(MICRO_TIME);
  const name = ctx.names.get(type);
  if (name === undefined) throw new Error(`no definition name for model ${type}`);
  return refTo(name);
}

/** Array items and map values carry a default of {} for objects, as kube-openapi's do. */
function itemSchema(type: string, format: string, quantity: boolean, ctx: Context): Schema {
  const s = schemaOf(type, format, quantity, ctx);
  if (typeof s["$ref"] === "string") return { allOf: [s], default: {} };
  if (s["type"] === "string") return { ...s, default: "" };
  return s;
}

function modelSchema(model: Model, definition: string, cdk8s: Cdk8s, ctx: Context): Schema {
  const extra = cdk8s.fields.get(definition);
  const properties: Record<string, Schema> = {};
  const required: string[] = [];
  const fields = [...model.fields].sort((a, b) => a.wire.localeCompare(b.wire, "en"));
  for (const field of fields) {
    const hint = extra?.get(field.wire);
    const quantity =
      hint?.quantity === true || STATUS_QUANTITIES.includes(`${definition}#${field.wire}`);
    let schema = schemaOf(field.type, field.format, quantity, ctx);
    if (typeof schema["$ref"] === "string") schema = { allOf: [schema] };
    const description = field.description ?? hint?.description;
    if (description !== undefined) schema = { description, ...schema };
    properties[field.wire] = schema;
    if (field.required) required.push(field.wire);
  }
  const out: Schema = {};
  if (model.description !== undefined) out["description"] = model.description;
  out["type"] = "object";
  if (fields.length > 0) out["properties"] = properties;
  if (required.length > 0) out["required"] = required;
  const gvk = cdk8s.gvks.get(definition);
  if (gvk !== undefined) out["x-kubernetes-group-version-kind"] = [gvk];
  return out;
}

function collectRefs(value: unknown, out: string[]): void {
  if (Array.isArray(value)) {
    for (const v of value) collectRefs(v, out);
  } else if (value !== null && typeof value === "object") {
    for (const [key, v] of Object.entries(value)) {
      if (key === "$ref" && typeof v === "string") {
        out.push(v.slice("#/components/schemas/".length));
      } else collectRefs(v, out);
    }
  }
}

function versionOf(dir: string): string {
  return JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).version;
}

export function generateSchemas(): GeneratedSchemas {
  const models = new Map(modelNames().map((name) => [name, readModel(name)]));
  const cdk8s = readCdk8s();
  const names = nameModels(models, cdk8s);
  const ctx: Context = { models, names, modelSet: new Set(models.keys()) };
  const byDefinition = new Map([...names].map(([model, definition]) => [definition, model]));

  // Kinds cdk8s dropped for a clash of names (core's Event): a definition outside cdk8s whose
  // model has apiVersion, kind and metadata is the kind its name says, in its package's group.
  const groups = new Map([...cdk8s.gvks].map(([d, gvk]) => [packageOf(d), gvk.group]));
  for (const [model, definition] of [...names].sort()) {
    if (cdk8s.names.has(definition)) continue;
    const wires = new Set(models.get(model)!.fields.map((f) => f.wire));
    const group = groups.get(packageOf(definition));
    if (group === undefined || !["apiVersion", "kind", "metadata"].every((w) => wires.has(w))) {
      continue;
    }
    const version = packageOf(definition).slice(packageOf(packageOf(definition)).length + 1);
    cdk8s.gvks.set(definition, {
      group,
      version,
      kind: definition.slice(definition.lastIndexOf(".") + 1),
    });
  }

  const stock = new Set(STOCK_GROUP_VERSIONS);
  const roots = [...META_ROOTS];
  for (const [definition, gvk] of cdk8s.gvks) {
    if (stock.has(gvk.group === "" ? gvk.version : `${gvk.group}/${gvk.version}`)) {
      roots.push(definition);
    }
  }
  for (const gv of STOCK_GROUP_VERSIONS) {
    const [group, version] = gv.includes("/") ? gv.split("/") : ["", gv];
    const served = [...cdk8s.gvks.values()].some((g) => g.group === group && g.version === version);
    if (!served) throw new Error(`no kind of ${gv} in cdk8s' k8s module`);
  }

  const schemas: Record<string, Schema> = {};
  const pending = [...roots, `${META}.Patch`];
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (schemas[name] !== undefined) continue;
    const scalar = SCALARS[name];
    if (scalar !== undefined) {
      schemas[name] = scalar;
      continue;
    }
    const model = byDefinition.get(name);
    if (model === undefined) throw new Error(`no client-node model for ${name}`);
    const schema = modelSchema(models.get(model)!, name, cdk8s, ctx);
    schemas[name] = schema;
    collectRefs(schema, pending);
  }

  for (const field of STATUS_QUANTITIES) {
    const [definition = "", wire = ""] = field.split("#");
    const property = (schemas[definition]?.["properties"] as Record<string, Schema> | undefined)?.[
      wire
    ];
    if (!JSON.stringify(property ?? {}).includes(QUANTITY)) throw new Error(`no Quantity ${field}`);
  }

  const sorted: Record<string, Schema> = {};
  for (const name of Object.keys(schemas).sort()) sorted[name] = schemas[name]!;
  return {
    source: `Kubernetes v1.32.0 OpenAPI, as generated into @kubernetes/client-node ${versionOf(clientDir)} and cdk8s-plus-32 ${versionOf(cdk8sRoot)}`,
    groupVersions: [...STOCK_GROUP_VERSIONS],
    schemas: sorted,
  };
}

export const OUTPUT = fileURLToPath(
  new URL("../src/apiserver/openapi/_schemas.generated.json", import.meta.url),
);

export function serialize(generated: GeneratedSchemas): string {
  return `${JSON.stringify(generated, null, 1)}\n`;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const generated = generateSchemas();
  writeFileSync(OUTPUT, serialize(generated));
  console.log(
    `wrote ${Object.keys(generated.schemas).length} schemas to ${relative(process.cwd(), OUTPUT)}`,
  );
}
