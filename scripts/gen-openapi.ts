/**
 * Generates `src/apiserver/openapi/_schemas.generated.json`: OpenAPI v3 component schemas for the
 * built-in kinds loopkube serves, named as kube-apiserver names them
 * (`io.k8s.api.core.v1.PodSpec`, `io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta`, …).
 *
 * Sources, both maintained packages (devDependencies), read at generation time only:
 * - `kubernetes-types` `.d.ts` files, parsed with the TypeScript compiler API: type names, field
 *   names and nesting, required fields, descriptions (the doc comments), group/version/kind of
 *   top-level kinds (the `apiVersion`/`kind` literal types);
 * - `@kubernetes/client-node` models' `attributeTypeMap`: the numeric and date formats the `.d.ts`
 *   files lose (`int32`, `int64`, `double`, `date-time`), so `explain` says integer, not number.
 *
 * Deterministic: schemas and properties are emitted in sorted order and nothing depends on time or
 * the machine. Run `node --import tsx scripts/gen-openapi.ts` after upgrading either package; a
 * test fails when the committed file differs from what this produces.
 *
 * @module
 */

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

type Schema = Record<string, unknown>;

export interface GeneratedSchemas {
  source: string;
  schemas: Record<string, Schema>;
}

/** kubernetes-types modules whose every exported type becomes a schema (plus what they reference). */
const ROOT_MODULES = [
  "core/v1",
  "apps/v1",
  "batch/v1",
  "discovery/v1",
  "coordination/v1",
  "storage/v1",
  "autoscaling/v1",
  "meta/v1",
];

const INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
const QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity";
const INT_OR_STRING_DOC =
  "IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML marshalling and unmarshalling, it produces or consumes the inner type.  This allows you to have, for example, a JSON field that can accept a name or number.";

const require = createRequire(import.meta.url);
const typesDir = dirname(require.resolve("kubernetes-types/package.json"));
const clientNodeDir = dirname(dirname(require.resolve("@kubernetes/client-node")));
const modelsDir = join(clientNodeDir, "dist", "gen", "models");

/** `core/v1` → `io.k8s.api.core.v1`; `meta/v1` → `io.k8s.apimachinery.pkg.apis.meta.v1`; … */
function packageOf(module: string): string {
  if (module === "runtime") return "io.k8s.apimachinery.pkg.runtime";
  if (module === "api/resource") return "io.k8s.apimachinery.pkg.api.resource";
  if (module === "version") return "io.k8s.apimachinery.pkg.version";
  if (module === "meta/v1") return "io.k8s.apimachinery.pkg.apis.meta.v1";
  if (module.startsWith("apiextensions/")) {
    return `io.k8s.apiextensions-apiserver.pkg.apis.${module.replace("/", ".")}`;
  }
  return `io.k8s.api.${module.replace("/", ".")}`;
}

function moduleOf(file: ts.SourceFile): string {
  return relative(typesDir, file.fileName).replace(/\.d\.ts$/, "");
}

interface Attribute {
  name: string;
  format: string;
  type: string;
}

/** The client-node model matching a kubernetes-types interface, if any: its field formats. */
function formatsFor(module: string, name: string): Map<string, string> {
  const [group = "", version = ""] = module.split("/");
  const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
  const candidates = [`${cap(group)}${cap(version)}${name}`, `${cap(version)}${name}`];
  for (const candidate of candidates) {
    const attrs = readAttributeTypeMap(candidate);
    if (attrs !== undefined) return new Map(attrs.map((a) => [a.name, a.format]));
  }
  return new Map();
}

/**
 * Reads a model's `attributeTypeMap` (a JSON array literal in the generated JS) without importing
 * the package, whose entry point pulls in an HTTP stack this script does not need.
 */
function readAttributeTypeMap(model: string): Attribute[] | undefined {
  const file = join(modelsDir, `${model}.js`);
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, "utf8");
  const match = new RegExp(`${model}\\.attributeTypeMap = (\\[[\\s\\S]*?\\]);`).exec(text);
  if (match?.[1] === undefined) throw new Error(`no attributeTypeMap in ${file}`);
  return JSON.parse(match[1]) as Attribute[];
}

function numberSchema(format: string | undefined): Schema {
  if (format === "double" || format === "float") return { type: "number", format };
  if (format === "int32" || format === "int64") return { type: "integer", format };
  // Every number field of the built-in kinds we cover is an integer; an unknown one is too.
  return { type: "integer" };
}

function docOf(node: ts.Node): string | undefined {
  const docs = ts.getJSDocCommentsAndTags(node).filter(ts.isJSDoc);
  const text = docs
    .map((d) => (typeof d.comment === "string" ? d.comment : ts.getTextOfJSDocComment(d.comment)))
    .filter((c): c is string => c !== undefined && c !== "")
    .join("\n");
  return text === "" ? undefined : text;
}

export function generateSchemas(): GeneratedSchemas {
  const rootFiles = ROOT_MODULES.map((m) => join(typesDir, `${m}.d.ts`));
  const program = ts.createProgram(rootFiles, { noEmit: true, types: [] });
  const checker = program.getTypeChecker();
  const schemas: Record<string, Schema> = {};
  const pending: ts.Declaration[] = [];
  const named = new Map<ts.Declaration, string>();

  function nameOf(decl: ts.Declaration): string {
    let name = named.get(decl);
    if (name === undefined) {
      const id = (decl as ts.InterfaceDeclaration | ts.TypeAliasDeclaration).name.text;
      name = `${packageOf(moduleOf(decl.getSourceFile()))}.${id}`;
      named.set(decl, name);
      pending.push(decl);
    }
    return name;
  }

  function refTo(name: string): Schema {
    return { $ref: `#/components/schemas/${name}` };
  }

  function declarationOf(ref: ts.TypeReferenceNode): ts.Declaration | undefined {
    let symbol = checker.getSymbolAtLocation(ref.typeName);
    if (symbol !== undefined && symbol.flags & ts.SymbolFlags.Alias) {
      symbol = checker.getAliasedSymbol(symbol);
    }
    return symbol?.declarations?.find(
      (d) => ts.isInterfaceDeclaration(d) || ts.isTypeAliasDeclaration(d),
    );
  }

  /** Schema of a type node; `format` is client-node's format for the field, when known. */
  function schemaOf(node: ts.TypeNode, format: string | undefined): Schema {
    switch (node.kind) {
      case ts.SyntaxKind.StringKeyword:
        return { type: "string" };
      case ts.SyntaxKind.NumberKeyword:
        return numberSchema(format);
      case ts.SyntaxKind.BooleanKeyword:
        return { type: "boolean" };
      case ts.SyntaxKind.AnyKeyword:
      case ts.SyntaxKind.UnknownKeyword:
        return { "x-kubernetes-preserve-unknown-fields": true };
    }
    if (ts.isLiteralTypeNode(node)) {
      if (ts.isStringLiteral(node.literal)) return { type: "string" };
      if (ts.isNumericLiteral(node.literal)) return numberSchema(format);
    }
    if (ts.isArrayTypeNode(node)) {
      return { type: "array", items: itemSchema(node.elementType, format) };
    }
    if (ts.isUnionTypeNode(node)) {
      const kinds = node.types.map((t) => t.kind).sort();
      if (
        kinds.length === 2 &&
        kinds.includes(ts.SyntaxKind.NumberKeyword) &&
        kinds.includes(ts.SyntaxKind.StringKeyword)
      ) {
        return refTo(INT_OR_STRING);
      }
      throw new Error(`unsupported union type: ${node.getText()}`);
    }
    if (ts.isTypeLiteralNode(node)) {
      const index = node.members.find(ts.isIndexSignatureDeclaration);
      if (index !== undefined && node.members.length === 1) {
        return { type: "object", additionalProperties: itemSchema(index.type, format) };
      }
      throw new Error(`unsupported type literal: ${node.getText()}`);
    }
    if (ts.isTypeReferenceNode(node)) {
      const id = node.typeName.getText();
      if (id === "Array" && node.typeArguments?.length === 1) {
        return { type: "array", items: itemSchema(node.typeArguments[0]!, format) };
      }
      const decl = declarationOf(node);
      if (decl === undefined) throw new Error(`unresolved type ${id}`);
      return refTo(nameOf(decl));
    }
    throw new Error(`unsupported type node ${ts.SyntaxKind[node.kind]}: ${node.getText()}`);
  }

  /** Array items and map values carry a default of {} for objects, as kube-openapi's do. */
  function itemSchema(node: ts.TypeNode, format: string | undefined): Schema {
    const s = schemaOf(node, format);
    if (typeof s["$ref"] === "string") return { allOf: [s], default: {} };
    if (s["type"] === "string") return { ...s, default: "" };
    return s;
  }

  function interfaceSchema(decl: ts.InterfaceDeclaration): Schema {
    const module = moduleOf(decl.getSourceFile());
    const formats = formatsFor(module, decl.name.text);
    const properties: Record<string, Schema> = {};
    const required: string[] = [];
    let apiVersion: string | undefined;
    let kind: string | undefined;
    const members = decl.members
      .filter(ts.isPropertySignature)
      .sort((a, b) => a.name.getText().localeCompare(b.name.getText(), "en"));
    for (const member of members) {
      const field = member.name.getText().replace(/^["']|["']$/g, "");
      if (member.type === undefined) throw new Error(`${decl.name.text}.${field} has no type`);
      const literal = ts.isLiteralTypeNode(member.type) && ts.isStringLiteral(member.type.literal);
      if (literal && field === "apiVersion")
        apiVersion = (member.type.literal as ts.StringLiteral).text;
      if (literal && field === "kind") kind = (member.type.literal as ts.StringLiteral).text;
      let schema = schemaOf(member.type, formats.get(field));
      if (typeof schema["$ref"] === "string") schema = { allOf: [schema] };
      if (schema["type"] === "object" && "additionalProperties" in schema) schema = { ...schema };
      const description = docOf(member);
      if (description !== undefined) schema = { description, ...schema };
      properties[field] = schema;
      if (member.questionToken === undefined) required.push(field);
    }
    const out: Schema = {};
    const description = docOf(decl);
    if (description !== undefined) out["description"] = description;
    out["type"] = "object";
    if (members.length > 0) out["properties"] = properties;
    if (required.length > 0) out["required"] = required;
    if (apiVersion !== undefined && kind !== undefined) {
      const slash = apiVersion.indexOf("/");
      out["x-kubernetes-group-version-kind"] = [
        {
          group: slash === -1 ? "" : apiVersion.slice(0, slash),
          kind,
          version: slash === -1 ? apiVersion : apiVersion.slice(slash + 1),
        },
      ];
    }
    return out;
  }

  function aliasSchema(decl: ts.TypeAliasDeclaration): Schema {
    const out: Schema = {};
    const description = docOf(decl);
    if (description !== undefined) out["description"] = description;
    const name = decl.name.text;
    // Time and MicroTime are RFC 3339 strings on the wire.
    const format = name === "Time" || name === "MicroTime" ? "date-time" : undefined;
    const base = schemaOf(decl.type, undefined);
    Object.assign(out, base);
    if (format !== undefined) out["format"] = format;
    return out;
  }

  for (const root of rootFiles) {
    const file = program.getSourceFile(root);
    if (file === undefined) throw new Error(`cannot load ${root}`);
    for (const stmt of file.statements) {
      if (ts.isInterfaceDeclaration(stmt) || ts.isTypeAliasDeclaration(stmt)) nameOf(stmt);
    }
  }
  for (let decl = pending.shift(); decl !== undefined; decl = pending.shift()) {
    const name = named.get(decl)!;
    schemas[name] = ts.isInterfaceDeclaration(decl)
      ? interfaceSchema(decl)
      : aliasSchema(decl as ts.TypeAliasDeclaration);
  }
  // Either JSON type is accepted; as in kube-apiserver's v3 documents these carry `oneOf` and no
  // `type`, which is also what makes `kubectl explain` print `<IntOrString>` and `<Quantity>`.
  schemas[INT_OR_STRING] = {
    description: INT_OR_STRING_DOC,
    format: "int-or-string",
    oneOf: [{ type: "integer" }, { type: "string" }],
  };
  const quantity = schemas[QUANTITY];
  if (quantity !== undefined) {
    delete quantity["type"];
    quantity["oneOf"] = [{ type: "string" }, { type: "number" }];
  }

  const sorted: Record<string, Schema> = {};
  for (const name of Object.keys(schemas).sort()) sorted[name] = schemas[name]!;
  const typesVersion = JSON.parse(readFileSync(join(typesDir, "package.json"), "utf8")).version;
  const clientVersion = JSON.parse(
    readFileSync(join(clientNodeDir, "package.json"), "utf8"),
  ).version;
  return {
    source: `kubernetes-types ${typesVersion}; formats from @kubernetes/client-node ${clientVersion}`,
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
