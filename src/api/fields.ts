/**
 * Field selectors, as apimachinery's `fields.ParseSelector` defines them: comma-separated terms
 * `field=value`, `field==value`, `field!=value`, all ANDed. In a value, `\,` `\=` `\\` escape
 * the separator, the operator and the backslash; any other escape, or a bare `,`/`=` inside a
 * value, is an error. Field names are not escaped and not trimmed.
 *
 * Which fields a kind supports is the API server's business (it knows the kind): it reads
 * {@link selectorFields} and reports unknown ones itself, with kube's message
 * `field label not supported: <name>`.
 *
 * @module
 */
import { badRequest } from "./errors.ts";

export interface FieldRequirement {
  field: string;
  operator: "=" | "!=";
  value: string;
}

/** An AND of requirements, sorted as apimachinery sorts the terms. Empty matches everything. */
export interface FieldSelector {
  requirements: FieldRequirement[];
}

/** Splits on unescaped commas; escapes stay in the terms for {@link unescapeValue}. */
function splitTerms(s: string): string[] {
  if (s === "") return [];
  const terms: string[] = [];
  let start = 0;
  let inSlash = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inSlash) inSlash = false;
    else if (c === "\\") inSlash = true;
    else if (c === ",") {
      terms.push(s.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(s.slice(start));
  return terms;
}

/** `!=` and `==` are tried before `=` so no `=` is left on the value. */
const OPERATORS = ["!=", "==", "="] as const;

function splitTerm(term: string): [string, (typeof OPERATORS)[number], string] | undefined {
  for (let i = 0; i < term.length; i++) {
    for (const op of OPERATORS) {
      if (term.startsWith(op, i)) return [term.slice(0, i), op, term.slice(i + op.length)];
    }
  }
  return undefined;
}

function unescapeValue(s: string): string {
  if (!/[\\,=]/.test(s)) return s;
  let out = "";
  let inSlash = false;
  for (const c of s) {
    if (inSlash) {
      if (c !== "\\" && c !== "," && c !== "=") {
        throw badRequest(`invalid field selector: invalid escape sequence: \\${c}`);
      }
      out += c;
      inSlash = false;
    } else if (c === "\\") {
      inSlash = true;
    } else if (c === "," || c === "=") {
      // Go prints the rune as its code point.
      throw badRequest(
        `invalid field selector: unescaped character in value: ${c.codePointAt(0) ?? 0}`,
      );
    } else {
      out += c;
    }
  }
  if (inSlash) throw badRequest("invalid field selector: invalid escape sequence: \\");
  return out;
}

/** Escapes a literal value for use in a field selector string. */
export function escapeFieldValue(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/,/g, "\\,").replace(/=/g, "\\=");
}

/**
 * Parses `?fieldSelector=`. Throws a 400 StatusError on a term without operator or a bad escape.
 *
 * @example parseFieldSelector("metadata.name=web,status.phase!=Running")
 */
export function parseFieldSelector(s: string): FieldSelector {
  const parts = splitTerms(s).sort();
  const requirements: FieldRequirement[] = [];
  for (const part of parts) {
    if (part === "") continue;
    const split = splitTerm(part);
    if (!split) throw badRequest(`invalid selector: '${s}'; can't understand '${part}'`);
    const [field, op, raw] = split;
    requirements.push({ field, operator: op === "!=" ? "!=" : "=", value: unescapeValue(raw) });
  }
  return { requirements };
}

/** A selector requiring each field to equal the given value. */
export function fieldSelectorFromSet(set: Record<string, string>): FieldSelector {
  return {
    requirements: Object.entries(set)
      .map(([field, value]): FieldRequirement => ({ field, operator: "=", value }))
      .sort((a, b) => (a.field < b.field ? -1 : a.field > b.field ? 1 : 0)),
  };
}

/**
 * True when every requirement holds. A field absent from `fields` reads as the empty string, as
 * apimachinery's `fields.Set.Get` does.
 */
export function fieldsMatch(selector: FieldSelector, fields: Record<string, string>): boolean {
  return selector.requirements.every((r) => {
    const v = Object.hasOwn(fields, r.field) ? fields[r.field] : "";
    return r.operator === "=" ? v === r.value : v !== r.value;
  });
}

/** The value `field` must equal for a match (e.g. `metadata.name` for a fast get), if any. */
export function requiredFieldEquals(selector: FieldSelector, field: string): string | undefined {
  return selector.requirements.find((r) => r.field === field && r.operator === "=")?.value;
}

/** The distinct field names the selector references, for the caller's supported-field check. */
export function selectorFields(selector: FieldSelector): string[] {
  return [...new Set(selector.requirements.map((r) => r.field))];
}

export function isEmptyFieldSelector(selector: FieldSelector): boolean {
  return selector.requirements.length === 0;
}

/** Renders the selector with escaped values, as apimachinery's `String()`. */
export function fieldSelectorToString(selector: FieldSelector): string {
  return selector.requirements
    .map((r) => `${r.field}${r.operator}${escapeFieldValue(r.value)}`)
    .join(",");
}

/** kube-apiserver's message for a field the kind does not index. */
export function unsupportedFieldMessage(field: string): string {
  return `field label not supported: ${field}`;
}
