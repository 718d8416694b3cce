/**
 * Kubernetes' CEL object types that are not JSON (`Quantity`, `IP`, `CIDR`, `URL`, `Semver`,
 * `optional_type`, `Format`), as protobuf message types of a small registry, so that `@bufbuild/cel` can
 * pass them to functions, compare them with `==` and name them in `type()`. Each message holds the
 * value's canonical text; an optional's payload is any CEL value, kept in a
 * WeakMap beside its message.
 *
 * @module
 */

import { type CelObjectType, type CelValue, objectType } from "@bufbuild/cel";
import {
  create,
  createFileRegistry,
  createRegistry,
  type DescMessage,
  type Registry,
} from "@bufbuild/protobuf";
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema,
} from "@bufbuild/protobuf/wkt";

const NAMES = ["Quantity", "IP", "CIDR", "URL", "Semver", "Optional", "Format"] as const;
type Name = (typeof NAMES)[number];
/** kube's authorizer library's types (`kubernetes.authorization.*`). */
const AUTHZ_NAMES = ["Authorizer", "PathCheck", "GroupCheck", "ResourceCheck", "Decision"] as const;
type AuthzName = (typeof AUTHZ_NAMES)[number];

const fileOf = (pkg: string, names: readonly string[]) =>
  create(FileDescriptorProtoSchema, {
    name: `loopkube/${pkg}.proto`,
    package: pkg,
    syntax: "proto3",
    messageType: names.map((name) => ({
      name,
      field: [
        {
          name: "text",
          number: 1,
          type: FieldDescriptorProto_Type.STRING,
          label: FieldDescriptorProto_Label.OPTIONAL,
          jsonName: "text",
        },
      ],
    })),
  });

const file = createFileRegistry(fileOf("kubernetes", NAMES), () => undefined);
const authzFile = createFileRegistry(
  fileOf("kubernetes.authorization", AUTHZ_NAMES),
  () => undefined,
);

const desc = (name: Name): DescMessage => {
  const d = file.getMessage(`kubernetes.${name}`);
  if (!d) throw new Error(`kubernetes.${name} missing`);
  return d;
};

/** The registry `celEnv` needs to know these types. */
export const OPAQUE_REGISTRY: Registry = createRegistry(file, authzFile);

const authzDesc = (name: AuthzName): DescMessage => {
  const d = authzFile.getMessage(`kubernetes.authorization.${name}`);
  if (!d) throw new Error(`kubernetes.authorization.${name} missing`);
  return d;
};
export const AUTHORIZER: CelObjectType = objectType(authzDesc("Authorizer"));
export const PATH_CHECK: CelObjectType = objectType(authzDesc("PathCheck"));
export const GROUP_CHECK: CelObjectType = objectType(authzDesc("GroupCheck"));
export const RESOURCE_CHECK: CelObjectType = objectType(authzDesc("ResourceCheck"));
export const DECISION: CelObjectType = objectType(authzDesc("Decision"));

export const QUANTITY: CelObjectType = objectType(desc("Quantity"));
export const IP: CelObjectType = objectType(desc("IP"));
export const CIDR: CelObjectType = objectType(desc("CIDR"));
export const URL_TYPE: CelObjectType = objectType(desc("URL"));
export const SEMVER: CelObjectType = objectType(desc("Semver"));
export const OPTIONAL: CelObjectType = objectType(desc("Optional"));
export const FORMAT: CelObjectType = objectType(desc("Format"));

/** A message of one of these types holding `text`. */
export function opaque(type: CelObjectType, text: string) {
  if (!type.desc) throw new Error(`${type.name} has no descriptor`);
  return create(type.desc, { text } as never);
}

/** The text a message of these types holds (`this` of a method, or an argument). */
export function textOf(v: unknown): string {
  const m = v as { text?: string; message?: { text?: string } };
  return m.message?.text ?? m.text ?? "";
}

const payloads = new WeakMap<object, CelValue>();

/** An optional holding `v`, or none (`optional.of`, `optional.none`). */
export function optionalOf(v: CelValue | undefined) {
  const m = create(desc("Optional"), { text: v === undefined ? "none" : "some" } as never);
  if (v !== undefined) payloads.set(m, v);
  return m;
}

/** The value of an optional, or undefined when it is none. */
export function optionalValue(v: unknown): CelValue | undefined {
  const m = v as { message?: object };
  return payloads.get(m.message ?? (v as object));
}
