/**
 * The CEL conformance suite (google/cel-spec `tests/simple/testdata`) run on loopkube's CEL
 * environment (`src/cel`): the text-format files of `../shared/cel-spec/` when present beside the
 * repository, else the same upstream data as `@bufbuild/cel-spec` ships it (protobuf JSON), so CI
 * needs nothing outside node_modules. Each test is parsed and evaluated with its bindings and the
 * result compared with the expected value, error or type.
 *
 * Out of scope (counted apart, visibly): the files about protobuf messages Kubernetes does not
 * use (`proto2`, `proto2_ext`, `proto3`, `enums`), and elsewhere tests whose bindings, results or
 * expression need those messages, or that expect unknowns (partial evaluation).
 *
 * @module
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  type CelInput,
  type CelValue,
  celUint,
  isCelError,
  isCelList,
  isCelMap,
  isCelType,
  isCelUint,
  plan,
} from "@bufbuild/cel";
import { kubeEnv, parseCel } from "../src/cel/index.ts";
import { parseTextProto, type TextMessage, type TextValue } from "./_textproto.ts";

export const SHARED_CEL_SPEC = resolve(import.meta.dirname, "..", "..", "shared", "cel-spec");
export const OUT_OF_SCOPE_FILES = new Set(["proto2", "proto2_ext", "proto3", "enums"]);

type Val =
  | { k: "null" }
  | { k: "bool"; v: boolean }
  | { k: "int" | "uint" | "timestamp" | "duration"; v: bigint }
  | { k: "double"; v: number }
  | { k: "string"; v: string }
  | { k: "bytes"; v: Uint8Array }
  | { k: "list"; v: Val[] }
  | { k: "map"; v: Array<[Val, Val]> }
  | { k: "type"; v: string }
  | { k: "unsupported"; why: string };

export interface ConformanceTest {
  file: string;
  section: string;
  name: string;
  expr: string;
  container: string;
  bindings: Record<string, Val>;
  expect: { value: Val } | { error: true } | { unsupported: string };
}

// ---- text format → tests

const one = (m: TextMessage, k: string) => m.get(k)?.[0];
const str = (v: TextValue | undefined) =>
  v instanceof Uint8Array ? new TextDecoder().decode(v) : v === undefined ? "" : String(v);
const big = (v: TextValue | undefined) => (typeof v === "bigint" ? v : BigInt(Number(v ?? 0)));

const WRAPPERS: Record<string, "int" | "uint" | "double" | "bool" | "string" | "bytes"> = {
  "google.protobuf.Int64Value": "int",
  "google.protobuf.Int32Value": "int",
  "google.protobuf.UInt64Value": "uint",
  "google.protobuf.UInt32Value": "uint",
  "google.protobuf.DoubleValue": "double",
  "google.protobuf.FloatValue": "double",
  "google.protobuf.BoolValue": "bool",
  "google.protobuf.StringValue": "string",
  "google.protobuf.BytesValue": "bytes",
};

function scalar(kind: string, raw: TextValue | undefined): Val {
  switch (kind) {
    case "int":
      return { k: "int", v: big(raw) };
    case "uint":
      return { k: "uint", v: big(raw) };
    case "double":
      return { k: "double", v: Number(raw ?? 0) };
    case "bool":
      return { k: "bool", v: (raw as { ident?: string })?.ident === "true" };
    case "string":
      return { k: "string", v: str(raw) };
    case "bytes":
      return { k: "bytes", v: raw instanceof Uint8Array ? raw : new Uint8Array() };
  }
  return { k: "unsupported", why: kind };
}

function textValue(m: TextMessage): Val {
  const [key, values] = [...m.entries()][0] ?? ["", []];
  const v = values[0];
  switch (key) {
    case "null_value":
      return { k: "null" };
    case "bool_value":
      return scalar("bool", v);
    case "int64_value":
      return scalar("int", v);
    case "uint64_value":
      return scalar("uint", v);
    case "double_value":
      return scalar("double", v);
    case "string_value":
      return scalar("string", v);
    case "bytes_value":
      return scalar("bytes", v);
    case "type_value":
      return { k: "type", v: str(v) };
    case "list_value":
      return {
        k: "list",
        v: ((v as TextMessage).get("values") ?? []).map((x) => textValue(x as TextMessage)),
      };
    case "map_value":
      return {
        k: "map",
        v: ((v as TextMessage).get("entries") ?? []).map((e) => {
          const entry = e as TextMessage;
          return [
            textValue(one(entry, "key") as TextMessage),
            textValue(one(entry, "value") as TextMessage),
          ];
        }),
      };
    case "object_value": {
      const [any, body] = [...(v as TextMessage).entries()][0] ?? ["", []];
      const type = any.replace(/^\[|\]$/g, "");
      const inner = body[0] as TextMessage;
      if (type === "google.protobuf.Timestamp" || type === "google.protobuf.Duration")
        return {
          k: type.endsWith("Timestamp") ? "timestamp" : "duration",
          v: big(one(inner, "seconds")) * 1_000_000_000n + big(one(inner, "nanos")),
        };
      const w = WRAPPERS[type];
      if (w) return scalar(w, one(inner, "value"));
      return { k: "unsupported", why: `message ${type}` };
    }
  }
  return { k: "unsupported", why: key };
}

function fromText(file: string, text: string): ConformanceTest[] {
  const root = parseTextProto(text);
  const out: ConformanceTest[] = [];
  for (const s of root.get("section") ?? []) {
    const section = s as TextMessage;
    for (const t of section.get("test") ?? []) {
      const test = t as TextMessage;
      const bindings: Record<string, Val> = {};
      for (const b of test.get("bindings") ?? []) {
        const entry = b as TextMessage;
        const ev = one(entry, "value") as TextMessage;
        const value = one(ev, "value") as TextMessage | undefined;
        bindings[str(one(entry, "key"))] = value
          ? textValue(value)
          : { k: "unsupported", why: "unknown binding" };
      }
      let expect: ConformanceTest["expect"] = { value: { k: "bool", v: true } };
      if (test.has("value")) expect = { value: textValue(one(test, "value") as TextMessage) };
      else if (test.has("eval_error") || test.has("any_eval_errors")) expect = { error: true };
      else if (test.has("unknown") || test.has("any_unknowns"))
        expect = { unsupported: "unknowns" };
      else if (test.has("typed_result")) {
        const tr = one(test, "typed_result") as TextMessage;
        const rv = one(tr, "result") as TextMessage | undefined;
        expect = rv ? { value: textValue(rv) } : { unsupported: "typed result" };
      }
      out.push({
        file,
        section: str(one(section, "name")),
        name: str(one(test, "name")),
        expr: str(one(test, "expr")),
        container: str(one(test, "container")),
        bindings,
        expect,
      });
    }
  }
  return out;
}

// ---- protobuf JSON (@bufbuild/cel-spec) → tests

type J = Record<string, unknown>;
function jsonValue(j: J): Val {
  if ("nullValue" in j) return { k: "null" };
  if ("boolValue" in j) return { k: "bool", v: j.boolValue === true };
  if ("int64Value" in j) return { k: "int", v: BigInt(j.int64Value as string) };
  if ("uint64Value" in j) return { k: "uint", v: BigInt(j.uint64Value as string) };
  if ("doubleValue" in j) return { k: "double", v: Number(j.doubleValue) };
  if ("stringValue" in j) return { k: "string", v: String(j.stringValue) };
  if ("bytesValue" in j)
    return { k: "bytes", v: Uint8Array.from(Buffer.from(String(j.bytesValue), "base64")) };
  if ("typeValue" in j) return { k: "type", v: String(j.typeValue) };
  if ("listValue" in j)
    return { k: "list", v: (((j.listValue as J).values as J[]) ?? []).map(jsonValue) };
  if ("mapValue" in j)
    return {
      k: "map",
      v: (((j.mapValue as J).entries as J[]) ?? []).map((e) => [
        jsonValue(e.key as J),
        jsonValue(e.value as J),
      ]),
    };
  if ("objectValue" in j) {
    const o = j.objectValue as J;
    const type = String(o["@type"]).replace(/^type\.googleapis\.com\//, "");
    if (type === "google.protobuf.Timestamp") {
      const ms = Date.parse(String(o.value));
      const frac = /\.(\d+)Z$/.exec(String(o.value))?.[1] ?? "";
      return {
        k: "timestamp",
        v:
          BigInt(Math.floor(ms / 1000)) * 1_000_000_000n +
          BigInt(frac.padEnd(9, "0").slice(0, 9) || "0"),
      };
    }
    if (type === "google.protobuf.Duration") {
      const m = /^(-?)(\d+)(?:\.(\d+))?s$/.exec(String(o.value));
      const ns =
        BigInt(m?.[2] ?? 0) * 1_000_000_000n + BigInt((m?.[3] ?? "").padEnd(9, "0") || "0");
      return { k: "duration", v: m?.[1] ? -ns : ns };
    }
    const w = WRAPPERS[type];
    if (w === "bytes")
      return { k: "bytes", v: Uint8Array.from(Buffer.from(String(o.value ?? ""), "base64")) };
    if (w === "int" || w === "uint") return { k: w, v: BigInt(String(o.value ?? 0)) };
    if (w === "double") return { k: "double", v: Number(o.value ?? 0) };
    if (w === "bool") return { k: "bool", v: o.value === true };
    if (w === "string") return { k: "string", v: String(o.value ?? "") };
    return { k: "unsupported", why: `message ${type}` };
  }
  return { k: "unsupported", why: Object.keys(j).join(",") };
}

interface Suite {
  name: string;
  suites?: Suite[];
  tests?: Array<{ original: J }>;
}

async function fromNpm(): Promise<Map<string, ConformanceTest[]>> {
  const mod = (await import("@bufbuild/cel-spec/testdata/conformance.js")) as { tests: Suite };
  const files = new Map<string, ConformanceTest[]>();
  for (const file of mod.tests.suites ?? []) {
    const list: ConformanceTest[] = [];
    for (const section of file.suites ?? []) {
      for (const { original: t } of section.tests ?? []) {
        const bindings: Record<string, Val> = {};
        for (const [k, ev] of Object.entries((t.bindings as Record<string, J>) ?? {}))
          bindings[k] = ev.value
            ? jsonValue(ev.value as J)
            : { k: "unsupported", why: "unknown binding" };
        let expect: ConformanceTest["expect"] = { value: { k: "bool", v: true } };
        if (t.value) expect = { value: jsonValue(t.value as J) };
        else if (t.evalError || t.anyEvalErrors) expect = { error: true };
        else if (t.unknown || t.anyUnknowns) expect = { unsupported: "unknowns" };
        else if (t.typedResult) {
          const r = (t.typedResult as J).result as J | undefined;
          expect = r ? { value: jsonValue(r) } : { unsupported: "typed result" };
        }
        list.push({
          file: file.name,
          section: section.name,
          name: String(t.name ?? ""),
          expr: String(t.expr ?? ""),
          container: String(t.container ?? ""),
          bindings,
          expect,
        });
      }
    }
    files.set(file.name, list);
  }
  return files;
}

/** The suite by file name, and where it came from. */
export async function loadConformance(
  options: { npm?: boolean } = {},
): Promise<{ source: string; files: Map<string, ConformanceTest[]> }> {
  if (!options.npm && existsSync(SHARED_CEL_SPEC)) {
    const files = new Map<string, ConformanceTest[]>();
    for (const f of readdirSync(SHARED_CEL_SPEC)
      .filter((n) => n.endsWith(".textproto"))
      .sort()) {
      const name = f.replace(/\.textproto$/, "");
      files.set(name, fromText(name, readFileSync(join(SHARED_CEL_SPEC, f), "utf8")));
    }
    return { source: "../shared/cel-spec (google/cel-spec textproto)", files };
  }
  return { source: "@bufbuild/cel-spec (npm)", files: await fromNpm() };
}

// ---- running

function unsupported(v: Val): string | undefined {
  if (v.k === "unsupported") return v.why;
  if (v.k === "list") return v.v.map(unsupported).find(Boolean);
  if (v.k === "map") return v.v.flatMap(([a, b]) => [unsupported(a), unsupported(b)]).find(Boolean);
  return undefined;
}

/** Why a test is out of scope for kube's CEL, or undefined. */
export function outOfScope(t: ConformanceTest): string | undefined {
  if (OUT_OF_SCOPE_FILES.has(t.file)) return `${t.file} messages`;
  if ("unsupported" in t.expect) return t.expect.unsupported;
  if ("value" in t.expect && unsupported(t.expect.value)) return unsupported(t.expect.value);
  for (const b of Object.values(t.bindings)) if (unsupported(b)) return unsupported(b);
  if (
    /TestAllTypes|NestedTestAllTypes|cel\.expr\.conformance|google\.protobuf\.\w+\{|\bproto[23]\./.test(
      t.expr,
    )
  )
    return "protobuf messages";
  return undefined;
}

function toInput(v: Val): CelInput {
  switch (v.k) {
    case "null":
      return null;
    case "uint":
      return celUint(v.v);
    case "list":
      return v.v.map(toInput);
    case "map":
      return new Map(v.v.map(([a, b]) => [toInput(a) as never, toInput(b)]));
    case "bool":
    case "int":
    case "double":
    case "string":
    case "bytes":
      return v.v;
  }
  throw new Error(`cannot bind ${v.k}`);
}

function nanosOf(x: CelValue): bigint | undefined {
  const m = (x as { message?: { $typeName?: string; seconds?: bigint; nanos?: number } }).message;
  return m && typeof m.seconds === "bigint"
    ? m.seconds * 1_000_000_000n + BigInt(m.nanos ?? 0)
    : undefined;
}

function typeName(x: CelValue): string | undefined {
  return (x as { message?: { $typeName?: string } }).message?.$typeName;
}

function matches(x: CelValue, v: Val): boolean {
  switch (v.k) {
    case "null":
      return x === null;
    case "bool":
      return x === v.v;
    case "int":
      return typeof x === "bigint" && x === v.v;
    case "uint":
      return isCelUint(x) && x.value === v.v;
    case "double":
      return (
        typeof x === "number" &&
        (Number.isNaN(v.v) ? Number.isNaN(x) : x === v.v && 1 / x === 1 / v.v)
      );
    case "string":
      return x === v.v;
    case "bytes":
      return x instanceof Uint8Array && Buffer.from(x).equals(Buffer.from(v.v));
    case "timestamp":
      return typeName(x) === "google.protobuf.Timestamp" && nanosOf(x) === v.v;
    case "duration":
      return typeName(x) === "google.protobuf.Duration" && nanosOf(x) === v.v;
    case "type":
      return isCelType(x) && (x.name === v.v || x.toString() === v.v);
    case "list": {
      if (!isCelList(x) || x.size !== v.v.length) return false;
      const items = [...x];
      return v.v.every((e, i) => matches(items[i] as CelValue, e));
    }
    case "map": {
      if (!isCelMap(x) || x.size !== v.v.length) return false;
      return v.v.every(([k, e]) => {
        const got = x.get(toInput(k) as never);
        return got !== undefined && matches(got, e);
      });
    }
  }
  return false;
}

export type Outcome = "pass" | "fail" | "out of scope";

/** Runs one test; `detail` says what came back when it fails. */
export function runTest(t: ConformanceTest): { outcome: Outcome; detail?: string } {
  const why = outOfScope(t);
  if (why) return { outcome: "out of scope", detail: why };
  let result: CelValue | Error;
  try {
    const env = kubeEnv(t.container);
    const bindings: Record<string, CelInput> = {};
    for (const [k, v] of Object.entries(t.bindings)) bindings[k] = toInput(v);
    result = plan(env, parseCel(t.expr))(bindings as never);
  } catch (e) {
    result = e as Error;
  }
  const isErr = result instanceof Error || isCelError(result);
  if ("error" in t.expect)
    return isErr ? { outcome: "pass" } : { outcome: "fail", detail: `value ${String(result)}` };
  if (isErr) return { outcome: "fail", detail: `error ${(result as Error).message}` };
  if (!("value" in t.expect)) return { outcome: "out of scope" };
  return matches(result as CelValue, t.expect.value)
    ? { outcome: "pass" }
    : { outcome: "fail", detail: `got ${String(result)}` };
}

export interface FileResult {
  file: string;
  total: number;
  pass: number;
  fail: number;
  outOfScope: number;
  failures: string[];
}

/** Runs every test of every file. */
export function runConformance(files: Map<string, ConformanceTest[]>): FileResult[] {
  return [...files.entries()].map(([file, tests]) => {
    const r: FileResult = {
      file,
      total: tests.length,
      pass: 0,
      fail: 0,
      outOfScope: 0,
      failures: [],
    };
    for (const t of tests) {
      const { outcome, detail } = runTest(t);
      if (outcome === "pass") r.pass++;
      else if (outcome === "fail") {
        r.fail++;
        r.failures.push(`${t.section}/${t.name}: ${t.expr} → ${detail}`);
      } else r.outOfScope++;
    }
    return r;
  });
}

/** The Markdown table of results (pass rate over the tests in scope). */
export function conformanceTable(results: FileResult[]): string {
  const rows = results.map((r) => {
    const inScope = r.pass + r.fail;
    const rate = inScope ? `${((100 * r.pass) / inScope).toFixed(1)} %` : "—";
    return `| ${r.file} | ${r.total} | ${r.outOfScope} | ${r.pass}/${inScope} | ${rate} |`;
  });
  const pass = results.reduce((s, r) => s + r.pass, 0);
  const inScope = results.reduce((s, r) => s + r.pass + r.fail, 0);
  const out = results.reduce((s, r) => s + r.outOfScope, 0);
  const total = results.reduce((s, r) => s + r.total, 0);
  return [
    "| file | tests | out of scope | passed | pass rate |",
    "|---|---:|---:|---:|---:|",
    ...rows,
    `| **all** | ${total} | ${out} | ${pass}/${inScope} | ${((100 * pass) / inScope).toFixed(1)} % |`,
  ].join("\n");
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const { source, files } = await loadConformance({ npm: process.argv.includes("--npm") });
  const results = runConformance(files);
  console.log(`source: ${source}\n`);
  console.log(conformanceTable(results));
  if (process.argv.includes("--failures"))
    for (const r of results) for (const f of r.failures) console.log(`${r.file}: ${f}`);
}
