/**
 * The typed decode every write goes through, as kube-apiserver's JSON decoder does it into its Go
 * structs: each field of a served kind is checked against its OpenAPI type, unknown fields are
 * dropped (and reported for `fieldValidation` Warn/Strict), nulls become what Go makes of them.
 *
 * Contract of {@link compileDecoder}'s result, `decode(obj)`:
 * - The first value of the wrong type (document order) makes it throw a {@link DecodeTypeError}
 *   worded as Go's `encoding/json` words it: `json: cannot unmarshal string into Go struct field
 *   PodSpec.spec.terminationGracePeriodSeconds of type int64` (Struct is the innermost struct,
 *   Field the struct fields from the root without list indexes or map keys, Type Go's name).
 *   Quantities, int-or-strings and times answer their own unmarshalers' messages.
 * - Otherwise it returns a decoded copy of `obj` without its unknown fields, and their paths
 *   (`spec.containers[0].foo`, at most 100, as the strict decoder names them). The input is not
 *   touched, and nothing of an unknown field is read, so its depth does not matter.
 * - A property whose value is null is removed (Go leaves the zero value, which `omitempty`
 *   drops); a null list item or map value becomes the zero value of its type ({} for a struct).
 * - Free-form values (RawExtension, FieldsV1, `x-kubernetes-preserve-unknown-fields`) are kept
 *   as they are, but nesting at most `maxDepth` levels below where they start (counted
 *   iteratively, so any depth is safe to check); deeper answers a {@link DecodeDepthError}.
 * - Prototype names (`constructor`, `__proto__`, `toString`) are ordinary keys: only own
 *   properties of a schema count as known.
 *
 * The walk follows the schema, never the value, so its recursion is bounded by the schema's
 * nesting (about 20 levels for a pod), whatever the body holds. A decoder is compiled once per
 * kind and reused; compiled nodes are shared between kinds.
 *
 * @module
 */

import { resolve, type Schema } from "./_schemas.ts";

type Lookup = (name: string) => Schema | undefined;

const MAX_REPORTED = 100;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_LIMIT = 2 ** 63;
const QUANTITY_RE = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/;
const QUANTITY_FORMAT =
  "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
const QUANTITY_SUFFIX = /^(|[numkMGTPE]|[KMGTPE]i|[eE][-+]?[0-9]+)$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const TIME_LAYOUT = "2006-01-02T15:04:05Z07:00";

/**
 * A client's mistake, caught and answered as a Status: built without a stack trace, whose
 * capture was most of the cost of decoding a body with a wrong type (26 µs against 2 µs).
 */
class ClientError extends Error {
  constructor(message: string) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
  }
}

/** A value of the wrong JSON type; the message is Go's. */
export class DecodeTypeError extends ClientError {
  override readonly name = "DecodeTypeError";
}

/** A free-form value nested deeper than the decoder allows. */
export class DecodeDepthError extends ClientError {
  override readonly name = "DecodeDepthError";
}

export interface DecodeOptions {
  /** The deepest nesting a kept value may have, counted from the object's root. */
  maxDepth: number;
}

/** Decodes a copy of `obj` (the input is not touched); see the module's contract. */
export type Decoder = (obj: Record<string, unknown>) => {
  object: Record<string, unknown>;
  unknown: string[];
};

/** Where the walk is: Go's error context (struct, field names) and the strict decoder's path. */
interface Walk {
  struct: string;
  fields: string[];
  path: string[];
  unknown: string[];
  depth: number;
  maxDepth: number;
}

/** Compiled nodes by schema name, shared between the decoders of one schema set. */
export type DecoderCache = Map<string, Node>;

type Node = {
  /** Go's name of the type, for `of type …`. */
  goType: string;
  /** Checks a non-null value and returns what to keep: a copy for objects and lists. */
  check(value: unknown, w: Walk): unknown;
  /** What Go makes of a null list item or map value. */
  zero: unknown;
};

function jsonKind(value: unknown): string {
  if (Array.isArray(value)) return "array";
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
      return "string";
    case "number":
      return "number";
    case "boolean":
      return "bool";
    default:
      return "object";
  }
}

function typeError(w: Walk, value: unknown, goType: string, literal = false): DecodeTypeError {
  const what = literal && typeof value === "number" ? `number ${String(value)}` : jsonKind(value);
  if (w.fields.length === 0) {
    return new DecodeTypeError(`json: cannot unmarshal ${what} into Go value of type ${goType}`);
  }
  return new DecodeTypeError(
    `json: cannot unmarshal ${what} into Go struct field ${w.struct}.${w.fields.join(".")} of type ${goType}`,
  );
}

/** A Go type's name as `reflect.Type.String()` prints it: `v1.PodSpec`, `resource.Quantity`. */
function goTypeOfSchemaName(name: string): string {
  const parts = name.split(".");
  const type = parts[parts.length - 1] ?? name;
  const pkg = parts[parts.length - 2] ?? "";
  return pkg ? `${pkg}.${type}` : type;
}

function structName(name: string): string {
  const parts = name.split(".");
  return parts[parts.length - 1] ?? name;
}

function scalar(goType: string, zero: unknown, ok: (v: unknown) => boolean): Node {
  return {
    goType,
    zero,
    check(value, w) {
      if (!ok(value)) throw typeError(w, value, goType);
      return value;
    },
  };
}

function integer(goType: "int32" | "int64"): Node {
  const inRange =
    goType === "int32"
      ? (v: number) => v >= INT32_MIN && v <= INT32_MAX
      : (v: number) => v >= -INT64_LIMIT && v < INT64_LIMIT;
  return {
    goType,
    zero: 0,
    check(value, w) {
      if (typeof value !== "number") throw typeError(w, value, goType);
      if (!Number.isInteger(value) || !inRange(value)) throw typeError(w, value, goType, true);
      return value;
    },
  };
}

const STRING = scalar("string", "", (v) => typeof v === "string");
const BOOL = scalar("bool", false, (v) => typeof v === "boolean");
const FLOAT = scalar("float64", 0, (v) => typeof v === "number");

/** metav1.Time and MicroTime: an RFC 3339 string (their UnmarshalJSON). */
const TIME: Node = {
  goType: "v1.Time",
  zero: null,
  check(value, _w) {
    if (typeof value !== "string") {
      throw new DecodeTypeError(
        `json: cannot unmarshal ${jsonKind(value)} into Go value of type string`,
      );
    }
    if (!RFC3339.test(value) || Number.isNaN(Date.parse(value))) {
      throw new DecodeTypeError(
        `parsing time ${JSON.stringify(value)} as ${JSON.stringify(TIME_LAYOUT)}: cannot parse ${JSON.stringify(value)} as "2006"`,
      );
    }
    return value;
  },
};

/** intstr.IntOrString: a string, or an int32 (its UnmarshalJSON). */
const INT_OR_STRING: Node = {
  goType: "intstr.IntOrString",
  zero: 0,
  check(value, _w) {
    if (typeof value === "string") return value;
    if (typeof value === "number" && Number.isInteger(value)) {
      if (value >= INT32_MIN && value <= INT32_MAX) return value;
    }
    const what = typeof value === "number" ? `number ${String(value)}` : jsonKind(value);
    throw new DecodeTypeError(`json: cannot unmarshal ${what} into Go value of type int32`);
  },
};

/** resource.Quantity: a string or number of the quantity grammar (its UnmarshalJSON). */
const QUANTITY: Node = {
  goType: "resource.Quantity",
  zero: "0",
  check(value, _w) {
    if (typeof value === "number" && Number.isFinite(value)) return value;
    const text = typeof value === "string" ? value.trim() : JSON.stringify(value);
    const m = QUANTITY_RE.exec(text);
    if (!m) throw new DecodeTypeError(QUANTITY_FORMAT);
    if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(m[1] ?? "")) {
      throw new DecodeTypeError("unable to parse numeric part of quantity");
    }
    if (!QUANTITY_SUFFIX.test(m[2] ?? "")) {
      throw new DecodeTypeError("unable to parse quantity's suffix");
    }
    return value;
  },
};

/** Whether a value nests deeper than `max` levels (counted iteratively: safe at any depth). */
export function nestsDeeper(value: unknown, max: number): boolean {
  return deepest(value, 0, max) > max;
}

/** Depth of the deepest value under `value` (itself at `depth`), stopping past `max`. */
function deepest(value: unknown, depth: number, max: number): number {
  const stack: Array<[unknown, number]> = [[value, depth]];
  let most = depth;
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (d > most) most = d;
    if (most > max) return most;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (child !== null && typeof child === "object") stack.push([child, d + 1]);
    }
  }
  return most;
}

const FREE_FORM: Node = {
  goType: "runtime.RawExtension",
  zero: null,
  check(value, w) {
    if (value !== null && typeof value === "object" && deepest(value, 1, w.maxDepth) > w.maxDepth) {
      throw new DecodeDepthError(`exceeded max depth of ${w.maxDepth}`);
    }
    return value;
  },
};

/** Sets a key as an own property, `__proto__` included (plain assignment would set the prototype). */
function define(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(out, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else out[key] = value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function arrayOf(item: () => Node): Node {
  const node: Node = {
    get goType() {
      return `[]${item().goType}`;
    },
    zero: null,
    check(value, w) {
      if (!Array.isArray(value)) throw typeError(w, value, node.goType);
      const elem = item();
      const out = new Array<unknown>(value.length);
      w.depth++;
      for (let i = 0; i < value.length; i++) {
        w.path.push(`[${i}]`);
        const v: unknown = value[i];
        out[i] = v === null || v === undefined ? zeroOf(elem.zero) : elem.check(v, w);
        w.path.pop();
      }
      w.depth--;
      return out;
    },
  };
  return node;
}

function mapOf(elem: () => Node): Node {
  const node: Node = {
    get goType() {
      return `map[string]${elem().goType}`;
    },
    zero: null,
    check(value, w) {
      if (!isRecord(value)) throw typeError(w, value, node.goType);
      const e = elem();
      const out: Record<string, unknown> = {};
      w.depth++;
      for (const key of Object.keys(value)) {
        const v = value[key];
        if (v === undefined) continue;
        w.path.push(`.${key}`);
        define(out, key, v === null ? zeroOf(e.zero) : e.check(v, w));
        w.path.pop();
      }
      w.depth--;
      return out;
    },
  };
  return node;
}

function zeroOf(zero: unknown): unknown {
  return zero !== null && typeof zero === "object" ? {} : zero;
}

function struct(name: string, properties: Record<string, Schema>, compile: (s: Schema) => Node) {
  const fields = new Map<string, Node>();
  const fieldOf = (key: string): Node | undefined => {
    if (!Object.hasOwn(properties, key)) return undefined;
    let node = fields.get(key);
    if (node === undefined) {
      node = compile(properties[key]!);
      fields.set(key, node);
    }
    return node;
  };
  const goType = goTypeOfSchemaName(name);
  const own = structName(name);
  const node: Node = {
    goType,
    zero: {},
    check(value, w) {
      if (!isRecord(value)) throw typeError(w, value, goType);
      const outerStruct = w.struct;
      const out: Record<string, unknown> = {};
      w.depth++;
      for (const key of Object.keys(value)) {
        const field = fieldOf(key);
        const at = w.path.length === 0 ? key : `.${key}`;
        if (field === undefined) {
          if (w.unknown.length < MAX_REPORTED) w.unknown.push(w.path.join("") + at);
          continue;
        }
        const v = value[key];
        if (v === null || v === undefined) continue;
        w.path.push(at);
        w.fields.push(key);
        w.struct = own;
        out[key] = field.check(v, w);
        w.struct = outerStruct;
        w.fields.pop();
        w.path.pop();
      }
      w.depth--;
      return out;
    },
  };
  return node;
}

/**
 * Compiles the decoder of a top-level kind's schema (by its generated name). Nodes are memoised
 * per schema name in `cache`, so recursive schemas and kinds sharing types compile once.
 */
export function compileDecoder(
  rootName: string,
  lookup: Lookup,
  options: DecodeOptions,
  cache: DecoderCache = new Map(),
): Decoder {
  function byName(name: string): Node {
    const node = cache.get(name);
    if (node !== undefined) return node;
    const schema = lookup(name);
    if (schema === undefined) return FREE_FORM;
    // A placeholder breaks cycles; it forwards to the real node once compiled.
    let real: Node | undefined;
    const forward: Node = {
      get goType() {
        return real?.goType ?? goTypeOfSchemaName(name);
      },
      zero: {},
      check: (value, w) => real!.check(value, w),
    };
    cache.set(name, forward);
    real = compileNamed(name, schema);
    cache.set(name, real);
    return real;
  }

  function compileNamed(name: string, schema: Schema): Node {
    switch (name) {
      case "io.k8s.apimachinery.pkg.api.resource.Quantity":
        return QUANTITY;
      case "io.k8s.apimachinery.pkg.util.intstr.IntOrString":
        return INT_OR_STRING;
      case "io.k8s.apimachinery.pkg.apis.meta.v1.Time":
      case "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime":
        return TIME;
    }
    if (schema.type === "object" && schema.properties !== undefined) {
      return struct(name, schema.properties, compile);
    }
    return compile(schema);
  }

  function compile(schema: Schema): Node {
    const ref = resolveName(schema);
    if (ref !== undefined) return byName(ref);
    const s = resolve(schema, lookup);
    if (s["x-kubernetes-preserve-unknown-fields"] === true) return FREE_FORM;
    if (s.format === "int-or-string") return INT_OR_STRING;
    switch (s.type) {
      case "string":
        return s.format === "date-time" ? TIME : STRING;
      case "boolean":
        return BOOL;
      case "number":
        return FLOAT;
      case "integer":
        return integer(s.format === "int32" ? "int32" : "int64");
      case "array": {
        const items = s.items;
        if (items === undefined) return FREE_FORM;
        let node: Node | undefined;
        return arrayOf(() => {
          node ??= compile(items);
          return node;
        });
      }
      case "object": {
        if (s.properties !== undefined) return struct("", s.properties, compile);
        const extra = s.additionalProperties;
        if (extra !== undefined && typeof extra === "object") {
          let node: Node | undefined;
          return mapOf(() => {
            node ??= compile(extra);
            return node;
          });
        }
        return FREE_FORM;
      }
      default:
        return FREE_FORM;
    }
  }

  function resolveName(schema: Schema): string | undefined {
    const ref = schema.$ref ?? (schema.allOf?.length === 1 ? schema.allOf[0]?.$ref : undefined);
    const prefix = "#/components/schemas/";
    return ref?.startsWith(prefix) ? ref.slice(prefix.length) : undefined;
  }

  const root = byName(rootName);
  return (obj) => {
    const w: Walk = {
      struct: "",
      fields: [],
      path: [],
      unknown: [],
      depth: 0,
      maxDepth: options.maxDepth,
    };
    const object = root.check(obj, w) as Record<string, unknown>;
    return { object, unknown: w.unknown };
  };
}
