/**
 * Label and field selectors for the in-memory fake only: enough of apimachinery's syntax
 * (`k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`; fields `path=v`, `path!=v`)
 * to filter lists and watches in tests. The API server uses `api/labels.ts` and `api/fields.ts`.
 *
 * @module
 */
import { badRequest } from "../../api/errors.ts";
import type { KubeObject } from "../../api/types.ts";

type Pred = (labels: Record<string, string>) => boolean;

/** Splits on commas that are not inside parentheses. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of s) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out.map((p) => p.trim()).filter((p) => p !== "");
}

function requirement(req: string): Pred {
  const set = /^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(req);
  if (set) {
    const [, key, op, list] = set as unknown as [string, string, string, string];
    const values = new Set(list.split(",").map((v) => v.trim()));
    return op === "in"
      ? (l) => key in l && values.has(l[key]!)
      : (l) => !(key in l) || !values.has(l[key]!);
  }
  const eq = /^([^\s!=]+)\s*(==|=|!=)\s*([^\s]*)$/.exec(req);
  if (eq) {
    const [, key, op, value] = eq as unknown as [string, string, string, string];
    return op === "!=" ? (l) => l[key] !== value : (l) => l[key] === value;
  }
  if (/^![^\s!=]+$/.test(req)) {
    const key = req.slice(1);
    return (l) => !(key in l);
  }
  if (/^[^\s!=(),]+$/.test(req)) return (l) => req in l;
  throw badRequest(`unable to parse requirement: ${JSON.stringify(req)}`);
}

export function labelPredicate(selector: string | undefined): Pred {
  const preds = splitTop(selector ?? "").map(requirement);
  return (labels) => preds.every((p) => p(labels));
}

function fieldValue(obj: KubeObject, path: string): string {
  let cur: unknown = obj;
  for (const part of path.split(".")) {
    if (cur === null || typeof cur !== "object") return "";
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur === undefined || cur === null ? "" : String(cur);
}

export function fieldPredicate(selector: string | undefined): (obj: KubeObject) => boolean {
  const preds = splitTop(selector ?? "").map((req) => {
    const m = /^([^!=]+?)\s*(==|=|!=)\s*(.*)$/.exec(req);
    if (!m) throw badRequest(`invalid selector: '${selector}'; can't understand '${req}'`);
    const [, path, op, value] = m as unknown as [string, string, string, string];
    return op === "!="
      ? (o: KubeObject) => fieldValue(o, path) !== value
      : (o: KubeObject) => fieldValue(o, path) === value;
  });
  return (obj) => preds.every((p) => p(obj));
}
