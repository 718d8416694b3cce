/**
 * CRD validation rules (`x-kubernetes-validations`) as kube's apiextensions-apiserver runs them,
 * on `src/cel`:
 *
 * - at CRD create/update (`checkRules`): the rule fields (`rule`, `message`, `messageExpression`,
 *   `reason`, `fieldPath`, `optionalOldSelf`), compile errors, the result type, `oldSelf` only
 *   where old values can be correlated, and the estimated cost per rule (× how often the rule can
 *   run) and for the whole schema, all with kube's paths and messages;
 * - on custom resources (`ruleValidator`): every rule at every schema level (properties, list
 *   items, `additionalProperties`) with `self` (and `oldSelf` on update: transition rules run only
 *   when there is an old value, unless `optionalOldSelf`), `message`/`messageExpression`,
 *   `reason` → the cause type, `fieldPath`, the per-call limit and the per-request budget, and
 *   ratcheting: on update, a rule without `oldSelf` that fails on an unchanged value is ignored.
 *
 * Error values are the schema's type (`spec.replicas: Invalid value: "integer": …`), as kube 1.32.
 *
 * @module
 */
import {
  type FieldError,
  fieldDuplicate,
  fieldForbidden,
  fieldInvalid,
  fieldNotSupported,
  fieldRequired,
} from "../../api/errors.ts";
import {
  actualType,
  type CelSchema,
  compile,
  costExceedsMessage,
  type DeclType,
  declTypeOf,
  MAX_REQUEST_SIZE_BYTES,
  optionalOf,
  PER_CALL_LIMIT,
  type Program,
  RUNTIME_COST_BUDGET,
  STATIC_ESTIMATED_COST_LIMIT,
  STATIC_ESTIMATED_CRD_COST_LIMIT,
  toCel,
} from "../../cel/index.ts";

export interface ValidationRule {
  rule?: string;
  message?: string;
  messageExpression?: string;
  reason?: string;
  fieldPath?: string;
  optionalOldSelf?: boolean;
}

type Schema = CelSchema & {
  "x-kubernetes-validations"?: ValidationRule[];
  "x-kubernetes-list-type"?: string;
  "x-kubernetes-list-map-keys"?: string[];
  "x-kubernetes-map-type"?: string;
};

const REASONS = [
  "FieldValueDuplicate",
  "FieldValueForbidden",
  "FieldValueInvalid",
  "FieldValueRequired",
];
const BLOCKING = new Set([
  "FieldValueNotSupported",
  "FieldValueRequired",
  "FieldValueTooLong",
  "FieldValueTooMany",
  "FieldValueTypeInvalid",
]);

/** Rules whose worst-case cost is at most this are charged it without measuring the values. */
const CHEAP = 1000;

interface CompiledRule {
  rule: ValidationRule;
  program?: Program;
  message?: Program;
  error?: string;
  messageError?: string;
  usesOldSelf: boolean;
  /** `fieldPath` as a field path suffix (`.a.b`, `[key]`). */
  fieldPath?: string;
}

interface Node {
  schema: Schema;
  type: DeclType;
  rules: CompiledRule[];
  properties?: Map<string, Node>;
  additional?: Node;
  items?: Node;
}

/** Go's `%#v` of an `apiextensions.ValidationRule`, as kube prints it in a compile error. */
function goRule(r: ValidationRule): string {
  const q = (s: string | undefined) => JSON.stringify(s ?? "");
  const ptr = (t: string, set: boolean) => `(${t})(${set ? "0xc000000000" : "nil"})`;
  return `apiextensions.ValidationRule{Rule:${q(r.rule)}, Message:${q(r.message)}, MessageExpression:${q(r.messageExpression)}, Reason:${ptr("*apiextensions.FieldValueErrorReason", r.reason !== undefined)}, FieldPath:${q(r.fieldPath)}, OptionalOldSelf:${ptr("*bool", r.optionalOldSelf !== undefined)}}`;
}

function invalidRaw(field: string, shown: string, detail: string): FieldError {
  return { type: "FieldValueInvalid", field, message: `Invalid value: ${shown}: ${detail}` };
}

/**
 * `fieldPath` (`.a.b`, `.m['x.y']`) resolved against `schema` as kube's `ValidFieldPath`: the
 * field path suffix, or undefined when it names no field.
 */
export function resolveFieldPath(path: string, schema: Schema): string | undefined {
  let rest = path;
  let s: Schema | undefined = schema;
  let out = "";
  while (rest.length > 0) {
    let name: string;
    const dot = /^\.([^.[]+)/.exec(rest);
    const bracket = /^\['((?:[^'\\]|\\.)*)'\]/.exec(rest);
    if (dot) name = dot[1] ?? "";
    else if (bracket) name = (bracket[1] ?? "").replace(/\\(.)/g, "$1");
    else return undefined;
    rest = rest.slice((dot ?? bracket)?.[0].length ?? 0);
    if (!s) return undefined;
    const next: Schema | undefined =
      (s.properties?.[name] as Schema | undefined) ??
      (typeof s.additionalProperties === "object" ? (s.additionalProperties as Schema) : undefined);
    if (!next) return undefined;
    out += s.properties?.[name] ? `.${name}` : `[${name}]`;
    s = next;
  }
  return out;
}

function compileNode(schema: Schema, root: boolean, deep = true): Node {
  const type = declTypeOf(schema, root);
  const rules: CompiledRule[] = [];
  for (const rule of schema["x-kubernetes-validations"] ?? []) {
    const c: CompiledRule = { rule, usesOldSelf: false };
    rules.push(c);
    if (!rule.rule?.trim()) continue;
    const oldType: DeclType = rule.optionalOldSelf
      ? { name: "optional", elem: type, maxElements: 0, minSize: 0 }
      : type;
    const vars = new Map([
      ["self", type],
      ["oldSelf", oldType],
    ]);
    const compiled = compile(rule.rule, vars, "bool");
    if (compiled.ok) {
      c.program = compiled.program;
      c.usesOldSelf = compiled.program.refs.has("oldSelf");
    } else
      c.error = compiled.error.startsWith("result type")
        ? "cel expression must evaluate to a bool"
        : `compilation failed: ${compiled.error}`;
    if (rule.messageExpression?.trim()) {
      const m = compile(rule.messageExpression, vars, "string");
      if (m.ok) c.message = m.program;
      else
        c.messageError = m.error.startsWith("result type")
          ? "messageExpression must evaluate to a string"
          : `messageExpression compilation failed: ${m.error}`;
    }
    const fieldPath = rule.fieldPath ? resolveFieldPath(rule.fieldPath, schema) : undefined;
    if (fieldPath) c.fieldPath = fieldPath;
  }
  const node: Node = { schema, type, rules };
  if (!deep) return node;
  if (schema.properties) {
    node.properties = new Map();
    for (const [k, v] of Object.entries(schema.properties))
      node.properties.set(k, compileNode(v as Schema, false));
  }
  if (typeof schema.additionalProperties === "object")
    node.additional = compileNode(schema.additionalProperties as Schema, false);
  if (schema.items) node.items = compileNode(schema.items as Schema, false);
  return node;
}

function hasRules(n: Node | undefined): boolean {
  if (!n) return false;
  if (n.rules.length) return true;
  if (hasRules(n.items) || hasRules(n.additional)) return true;
  for (const p of n.properties?.values() ?? []) if (hasRules(p)) return true;
  return false;
}

interface CostEntry {
  path: string;
  cost: number;
}

/**
 * The CRD-time errors of every `x-kubernetes-validations` in `schema`, whose own path is `path`
 * (`spec.versions[0].schema.openAPIV3Schema`).
 */
export function checkRules(
  schema: Record<string, unknown> | undefined,
  path: string,
): FieldError[] {
  if (!schema) return [];
  const errs: FieldError[] = [];
  const total: CostEntry[] = [];
  const visit = (
    s: Schema,
    at: string,
    root: boolean,
    cardinality: number | undefined,
    uncorrelatable: string | undefined,
  ) => {
    const rules = s["x-kubernetes-validations"] ?? [];
    const node = rules.length ? compileNode(s, root, false) : undefined;
    const schemaErrs: FieldError[] = [];
    rules.forEach((r, i) => {
      const p = `${at}.x-kubernetes-validations[${i}]`;
      if (!r.rule?.trim()) schemaErrs.push(fieldRequired(`${p}.rule`, "rule is not specified"));
      if (r.message !== undefined && !r.message.trim())
        schemaErrs.push(
          fieldInvalid(`${p}.message`, r.message, "message must be non-empty if specified"),
        );
      else if (r.message !== undefined && /[\n\r]/.test(r.message))
        schemaErrs.push(
          fieldInvalid(`${p}.message`, r.message, "message must not contain line breaks"),
        );
      else if (r.message === undefined && /[\n\r]/.test(r.rule ?? ""))
        schemaErrs.push(
          fieldRequired(`${p}.message`, "message must be specified if rule contains line breaks"),
        );
      if (r.messageExpression !== undefined && !r.messageExpression.trim())
        schemaErrs.push(
          fieldRequired(
            `${p}.messageExpression`,
            "messageExpression must be non-empty if specified",
          ),
        );
      if (r.reason !== undefined && !REASONS.includes(r.reason))
        schemaErrs.push(fieldNotSupported(`${p}.reason`, r.reason, REASONS));
      if (r.fieldPath !== undefined) {
        if (!r.fieldPath.trim())
          schemaErrs.push(
            fieldInvalid(`${p}.fieldPath`, r.fieldPath, "fieldPath must be non-empty if specified"),
          );
        else if (/[\n\r]/.test(r.fieldPath))
          schemaErrs.push(
            fieldInvalid(`${p}.fieldPath`, r.fieldPath, "fieldPath must not contain line breaks"),
          );
        else if (resolveFieldPath(r.fieldPath, s) === undefined)
          schemaErrs.push(
            fieldInvalid(`${p}.fieldPath`, r.fieldPath, "fieldPath must be a valid path"),
          );
      }
    });
    errs.push(...schemaErrs);
    if (node && schemaErrs.length === 0) {
      const times = cardinality ?? Math.floor(MAX_REQUEST_SIZE_BYTES / (node.type.minSize + 1));
      node.rules.forEach((c, i) => {
        const p = `${at}.x-kubernetes-validations[${i}]`;
        if (c.program) {
          const cost = c.program.maxCost * times;
          if (cost > STATIC_ESTIMATED_COST_LIMIT)
            errs.push(
              fieldForbidden(
                `${p}.rule`,
                costExceedsMessage("estimated rule cost", cost, STATIC_ESTIMATED_COST_LIMIT),
              ),
            );
          total.push({ path: `${p}.rule`, cost });
        }
        if (c.error) errs.push(invalidRaw(`${p}.rule`, goRule(c.rule), c.error));
        if (c.messageError)
          errs.push(invalidRaw(`${p}.messageExpression`, goRule(c.rule), c.messageError));
        else if (c.message) {
          const cost = c.message.maxCost * times;
          if (cost > STATIC_ESTIMATED_COST_LIMIT)
            errs.push(
              fieldForbidden(
                `${p}.messageExpression`,
                costExceedsMessage(
                  "estimated messageExpression cost",
                  cost,
                  STATIC_ESTIMATED_COST_LIMIT,
                ),
              ),
            );
          total.push({ path: `${p}.messageExpression`, cost });
        }
        if (c.usesOldSelf && uncorrelatable)
          errs.push(
            fieldInvalid(
              `${p}.rule`,
              c.rule.rule,
              `oldSelf cannot be used on the uncorrelatable portion of the schema within ${uncorrelatable}`,
            ),
          );
        else if (!c.usesOldSelf && c.program && c.rule.optionalOldSelf !== undefined)
          errs.push(
            fieldInvalid(
              `${p}.optionalOldSelf`,
              c.rule.optionalOldSelf,
              "may not be set if oldSelf is not used in rule",
            ),
          );
      });
    }
    for (const [k, v] of Object.entries(s.properties ?? {}))
      visit(v as Schema, `${at}.properties[${k}]`, false, cardinality, uncorrelatable);
    if (typeof s.additionalProperties === "object") {
      const max = s.maxProperties;
      const card = cardinality !== undefined && max !== undefined ? cardinality * max : undefined;
      const mapUncorrelatable =
        s["x-kubernetes-map-type"] === "atomic" ? uncorrelatable : uncorrelatable;
      visit(
        s.additionalProperties as Schema,
        `${at}.additionalProperties`,
        false,
        card,
        mapUncorrelatable,
      );
    }
    if (s.items) {
      const card =
        cardinality !== undefined && s.maxItems !== undefined
          ? cardinality * s.maxItems
          : undefined;
      const correlatable = s["x-kubernetes-list-type"] === "map";
      visit(
        s.items as Schema,
        `${at}.items`,
        false,
        card,
        uncorrelatable ?? (correlatable ? undefined : at),
      );
    }
  };
  visit(schema as Schema, path, true, 1, undefined);
  const sum = total.reduce((a, b) => a + b.cost, 0);
  if (sum > STATIC_ESTIMATED_CRD_COST_LIMIT) {
    const top = total
      .filter((e) => e.cost >= STATIC_ESTIMATED_CRD_COST_LIMIT / 100)
      .sort((a, b) => b.cost - a.cost)
      .slice(0, 4);
    for (const e of top)
      errs.push(
        fieldForbidden(
          e.path,
          "contributed to estimated rule cost total exceeding cost limit for entire OpenAPIv3 schema",
        ),
      );
    errs.push(
      fieldForbidden(
        path,
        costExceedsMessage(
          "x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema",
          sum,
          STATIC_ESTIMATED_CRD_COST_LIMIT,
        ),
      ),
    );
  }
  return errs;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json =>
  v !== null && typeof v === "object" && !Array.isArray(v);

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function errorFor(c: CompiledRule, field: string, shown: string, detail: string): FieldError {
  switch (c.rule.reason) {
    case "FieldValueForbidden":
      return fieldForbidden(field, detail);
    case "FieldValueRequired":
      return fieldRequired(field, detail);
    case "FieldValueDuplicate":
      return fieldDuplicate(field, shown);
  }
  return fieldInvalid(field, shown, detail);
}

const ruleText = (r: ValidationRule) =>
  r.message?.trim() ? r.message.trim() : (r.rule ?? "").trim();

interface Run {
  budget: number;
  stop: boolean;
  errs: FieldError[];
  update: boolean;
}

function evalNode(n: Node, value: unknown, old: unknown, path: string, run: Run): void {
  if (run.stop || value === null || value === undefined) return;
  const field = path || "<nil>";
  const shown = n.schema.type ?? "";
  if (n.rules.length) {
    const self = toCel(value, n.type);
    const hasOld = old !== undefined && old !== null;
    const oldSelf = hasOld ? toCel(old, n.type) : null;
    const unchanged = run.update && hasOld && same(value, old);
    let actual: Map<string, DeclType> | undefined;
    for (const c of n.rules) {
      if (c.error) {
        run.errs.push(fieldInvalid(field, shown, `rule compile error: ${c.error}`));
        continue;
      }
      if (!c.program) continue;
      if (c.usesOldSelf && !hasOld && !c.rule.optionalOldSelf) continue;
      // A cheap rule is charged its worst case (at most CHEAP); others their cost over the
      // actual sizes of the values, which takes a walk of the expression.
      let cost = c.program.maxCost;
      if (cost > CHEAP) {
        actual ??= new Map([
          ["self", actualType(value, n.type)],
          ["oldSelf", hasOld ? actualType(old, n.type) : n.type],
        ]);
        cost = c.program.costWith(actual);
      }
      if (cost > PER_CALL_LIMIT) {
        run.errs.push(
          fieldInvalid(
            field,
            shown,
            `'operation cancelled: actual cost limit exceeded': no further validation rules will be run due to call cost exceeds limit for rule: ${ruleText(c.rule)}`,
          ),
        );
        run.stop = true;
        return;
      }
      if (cost > run.budget) {
        run.errs.push(
          fieldInvalid(
            field,
            shown,
            "validation failed due to running out of cost budget, no further validation rules will be run",
          ),
        );
        run.stop = true;
        return;
      }
      run.budget -= cost;
      const bindings = {
        self,
        oldSelf: c.rule.optionalOldSelf
          ? optionalOf(hasOld ? (oldSelf as never) : undefined)
          : oldSelf,
      };
      const result = c.program.eval(bindings as never);
      if (result instanceof Error) {
        const m = result.message;
        if (/no such overload|no matching overload|unbound function/.test(m))
          run.errs.push(
            fieldInvalid(
              field,
              shown,
              `'no such overload': call arguments did not match a supported operator, function or macro signature for rule: ${ruleText(c.rule)}`,
            ),
          );
        else run.errs.push(fieldInvalid(field, shown, `${m} evaluating rule: ${ruleText(c.rule)}`));
        continue;
      }
      if (result === true) continue;
      if (unchanged && !c.usesOldSelf) continue;
      const at = c.fieldPath ? `${path}${c.fieldPath}`.replace(/^\./, "") : field;
      let detail = c.rule.message?.trim()
        ? c.rule.message.trim()
        : `failed rule: ${ruleText(c.rule)}`;
      if (c.message) {
        const m = c.message.eval(bindings as never);
        if (typeof m === "string" && m.trim() && !/\n/.test(m.trim()) && m.trim().length <= 5120)
          detail = m.trim();
      }
      run.errs.push(errorFor(c, at, shown, detail));
    }
  }
  if (isObject(value)) {
    const o = isObject(old) ? old : undefined;
    for (const [k, v] of Object.entries(value)) {
      const sub = n.properties?.get(k);
      if (sub) evalNode(sub, v, o?.[k], path ? `${path}.${k}` : k, run);
      else if (n.additional) evalNode(n.additional, v, o?.[k], `${path}[${k}]`, run);
      if (run.stop) return;
    }
  } else if (Array.isArray(value) && n.items) {
    const keys =
      n.schema["x-kubernetes-list-type"] === "map"
        ? (n.schema["x-kubernetes-list-map-keys"] ?? [])
        : undefined;
    const olds = Array.isArray(old) ? old : [];
    value.forEach((item, i) => {
      const match =
        keys && isObject(item)
          ? olds.find((o) => isObject(o) && keys.every((k) => same(o[k], item[k])))
          : undefined;
      if (n.items) evalNode(n.items, item, match, `${path}[${i}]`, run);
    });
  }
}

/**
 * A validator of custom resources for one CRD version's schema, or undefined when the schema has
 * no rules. Schema errors that block rules (`BLOCKING`) skip them with kube's note.
 */
export function ruleValidator(
  schema: Record<string, unknown> | undefined,
):
  | ((obj: unknown, old: unknown | undefined, schemaErrors: FieldError[]) => FieldError[])
  | undefined {
  if (!schema) return undefined;
  const root = compileNode(schema as Schema, true);
  if (!hasRules(root)) return undefined;
  return (obj, old, schemaErrors) => {
    if (schemaErrors.some((e) => BLOCKING.has(e.type) || /must be of type/.test(e.message)))
      return [
        fieldInvalid(
          "<nil>",
          "null",
          "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation",
        ),
      ];
    const run: Run = {
      budget: RUNTIME_COST_BUDGET,
      stop: false,
      errs: [],
      update: old !== undefined,
    };
    evalNode(root, obj, old, "", run);
    return run.errs;
  };
}
