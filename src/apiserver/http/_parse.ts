/**
 * Parsing request bodies in time and memory linear in their size, whatever they hold:
 *
 * - JSON: V8's `JSON.parse` (iterative, linear); nesting deeper than kube's JSON decoder allows
 *   (10,000, Go's scanner) is refused first with its error, found by a byte scan.
 * - YAML: js-yaml, linear in the size of flow and block collections alike (the `yaml` package
 *   checks duplicate keys pairwise: a 640 KB flow mapping of 50,000 keys took ~10 s, 3 MiB
 *   minutes), with the YAML 1.2 core schema (no timestamps or merge keys, as before), duplicate
 *   keys taking the last value (sigs.k8s.io/yaml's non-strict conversion), nesting limited to
 *   {@link MAX_YAML_DEPTH} (js-yaml recurses; deeper would overflow the stack). Aliases are
 *   expanded into a tree (an alias is a copy in JSON), refused when the expansion's values and
 *   characters outgrow twice the body ("billion laughs", or a long string aliased thousands of
 *   times), as go-yaml refuses excessive aliasing. A body without `&` has no anchor, so nothing
 *   to expand or check.
 *
 * @module
 */
import jsyaml from "js-yaml";

/** kube-apiserver's JSON decoder refuses deeper nesting (Go's `encoding/json` scanner). */
export const MAX_JSON_DEPTH = 10_000;
/** js-yaml recurses per level; about 2,000 levels overflow Node's default stack. */
export const MAX_YAML_DEPTH = 1_000;

/** A body that does not parse: a client's mistake, answered as a Status, so built without a stack. */
export class BodyParseError extends Error {
  constructor(message: string) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
    this.name = "BodyParseError";
  }
}

const AMPERSAND = 0x26;
/** Room for aliases in a small body: an anchor used a few times is ordinary YAML. */
const MIN_EXPANSION = 64 * 1024;

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Whether JSON text nests deeper than `max` (strings skipped; malformed text is JSON.parse's). */
export function jsonNestsDeeper(body: Uint8Array, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > max) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
  }
  return false;
}

export function parseJsonText(body: Buffer): unknown {
  if (jsonNestsDeeper(body, MAX_JSON_DEPTH)) throw new BodyParseError("exceeded max depth");
  try {
    return JSON.parse(body.toString("utf8"));
  } catch (e) {
    throw new BodyParseError((e as Error).message);
  }
}

export function parseYamlText(body: Buffer): unknown {
  const text = body.toString("utf8");
  let value: unknown;
  try {
    value = jsyaml.load(text, {
      schema: jsyaml.CORE_SCHEMA,
      json: true,
      maxDepth: MAX_YAML_DEPTH,
    } as jsyaml.LoadOptions);
  } catch (e) {
    if (e instanceof RangeError)
      throw new BodyParseError(`yaml: exceeded max depth of ${MAX_YAML_DEPTH}`);
    throw new BodyParseError(`yaml: ${(e as Error).message.split("\n")[0]}`);
  }
  if (!body.includes(AMPERSAND)) return value;
  return asTree(value, Math.max(2 * body.length, MIN_EXPANSION));
}

/**
 * The value as a tree: shared subtrees (YAML aliases) are copied apart, as JSON would have
 * them, unless the copies would hold more than `budget` values and characters (keys and strings,
 * counted at each place an alias puts them) or nest past the YAML limit.
 */
function asTree(value: unknown, budget: number): unknown {
  if (value === null || typeof value !== "object") return value;
  const seen = new Set<object>();
  let shared = false;
  let count = 0;
  const stack: Array<[object, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (seen.has(v)) shared = true;
    else seen.add(v);
    if (depth > MAX_YAML_DEPTH) {
      throw new BodyParseError(`yaml: exceeded max depth of ${MAX_YAML_DEPTH}`);
    }
    const keys = Array.isArray(v) ? undefined : Object.keys(v);
    const children: unknown[] = keys === undefined ? (v as unknown[]) : Object.values(v);
    if (keys !== undefined) for (const k of keys) count += k.length;
    for (const child of children) {
      count += typeof child === "string" ? child.length + 1 : 1;
      if (count > budget) throw new BodyParseError("yaml: document contains excessive aliasing");
      if (child !== null && typeof child === "object") stack.push([child, depth + 1]);
    }
  }
  return shared ? JSON.parse(JSON.stringify(value)) : value;
}
