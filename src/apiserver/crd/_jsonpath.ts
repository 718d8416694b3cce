/**
 * The subset of kubectl's JSONPath that CRD printer columns and scale paths use: `.a.b`,
 * `.a[0]`, `.a[*]`, `.a['dotted.key']` and a filter `[?(@.type=="Ready")]` (==, != on a string,
 * number or boolean literal), with or without the `{…}` template braces. Results are the matched
 * values in document order; a path that matches nothing gives an empty list.
 *
 * Written here rather than taken from npm: the `jsonpath` packages implement Goessner's syntax,
 * whose filter and wildcard semantics differ from Kubernetes' JSONPath in the cases columns use.
 *
 * @module
 */

type Step =
  | { kind: "field"; name: string }
  | { kind: "index"; index: number }
  | { kind: "all" }
  | { kind: "filter"; path: string[]; op: "==" | "!="; value: unknown };

const FILTER = /^\?\(@((?:\.[\w-]+)+)\s*(==|!=)\s*(.+)\)$/;

function literal(text: string): unknown {
  const t = text.trim();
  if (/^(['"]).*\1$/.test(t)) return t.slice(1, -1);
  if (t === "true" || t === "false") return t === "true";
  const n = Number(t);
  return Number.isNaN(n) ? t : n;
}

/** Parses a path; throws an Error with the reason when it is not in the supported subset. */
export function parseJsonPath(path: string): Step[] {
  let p = path.trim();
  if (p.startsWith("{") && p.endsWith("}")) p = p.slice(1, -1).trim();
  if (p.startsWith("$")) p = p.slice(1);
  const steps: Step[] = [];
  let i = 0;
  while (i < p.length) {
    const ch = p[i];
    if (ch === ".") {
      const m = /^[\w-]+/.exec(p.slice(i + 1));
      if (!m) throw new Error(`unexpected character after '.' at ${i}`);
      steps.push({ kind: "field", name: m[0] });
      i += 1 + m[0].length;
    } else if (ch === "[") {
      const end = p.indexOf("]", i);
      if (end < 0) throw new Error("unterminated [");
      const inner = p.slice(i + 1, end).trim();
      i = end + 1;
      if (inner === "*") steps.push({ kind: "all" });
      else if (/^-?\d+$/.test(inner)) steps.push({ kind: "index", index: Number(inner) });
      else if (/^(['"]).*\1$/.test(inner)) steps.push({ kind: "field", name: inner.slice(1, -1) });
      else {
        const f = FILTER.exec(inner);
        if (!f) throw new Error(`unsupported expression [${inner}]`);
        steps.push({
          kind: "filter",
          path: f[1]!.split(".").filter(Boolean),
          op: f[2] as "==" | "!=",
          value: literal(f[3]!),
        });
      }
    } else {
      throw new Error(`unexpected character ${JSON.stringify(ch)} at ${i}`);
    }
  }
  return steps;
}

function child(value: unknown, name: string): unknown {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)[name]
    : undefined;
}

/** The values `path` selects in `root`. */
export function evaluateJsonPath(root: unknown, steps: Step[]): unknown[] {
  let current: unknown[] = [root];
  for (const step of steps) {
    const next: unknown[] = [];
    for (const value of current) {
      if (step.kind === "field") {
        const v = child(value, step.name);
        if (v !== undefined) next.push(v);
      } else if (step.kind === "index") {
        if (!Array.isArray(value)) continue;
        const v = value[step.index < 0 ? value.length + step.index : step.index];
        if (v !== undefined) next.push(v);
      } else if (step.kind === "all") {
        if (Array.isArray(value)) next.push(...value);
        else if (value && typeof value === "object") next.push(...Object.values(value));
      } else if (Array.isArray(value)) {
        for (const item of value) {
          const got = step.path.reduce<unknown>((v, name) => child(v, name), item);
          if ((got === step.value) === (step.op === "==")) next.push(item);
        }
      }
    }
    current = next;
  }
  return current;
}
