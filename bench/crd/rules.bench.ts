/**
 * What CRD validation rules cost (issue #16): custom-resource creates per second in process
 * (registry, memory store) for the same CRD with its `x-kubernetes-validations` rules and with
 * them removed, and ConfigMap creates as the anchor of the whole path. The Widget fixture
 * (`test/fixtures/crd/widget-rules.yaml`) has 11 rules at every schema level; each object sets
 * the fields they read.
 *
 * Run: node --import tsx bench/crd/rules.bench.ts [--quick]
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { REFS } from "../../src/api/refs.ts";
import type { KubeObject } from "../../src/api/types.ts";
import { createRegistry } from "../../src/apiserver/index.ts";
import { openStore } from "../../src/store/index.ts";
import { type Line, startResult } from "../_result.ts";

const quick = process.argv.includes("--quick");
const N = quick ? 500 : 3000;
const result = startResult("crd-rules", { quick });
const FIXTURE = join(
  import.meta.dirname,
  "..",
  "..",
  "test",
  "fixtures",
  "crd",
  "widget-rules.yaml",
);

function withoutRules(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withoutRules);
  if (schema && typeof schema === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(schema))
      if (k !== "x-kubernetes-validations") out[k] = withoutRules(v);
    return out;
  }
  return schema;
}

async function ratePerSecond(rules: boolean | "configmap"): Promise<number> {
  const store = openStore({ backend: "memory" });
  const { registry, custom } = createRegistry(store);
  let make: (i: number) => void;
  if (rules === "configmap") {
    make = (i) =>
      registry.createSync(REFS.configmaps, "default", {
        metadata: { name: `cm-${i}` },
        data: { host: "a.example", memory: "512Mi" },
      } as KubeObject);
  } else {
    const crd = parse(readFileSync(FIXTURE, "utf8")) as KubeObject & {
      spec: { versions: Array<{ schema: unknown }> };
    };
    if (!rules) for (const v of crd.spec.versions) v.schema = withoutRules(v.schema);
    registry.createSync(REFS.customresourcedefinitions, "", crd);
    let info = custom.find("cel.example.com", "v1", "widgets");
    while (!info) {
      await new Promise((r) => setTimeout(r, 5));
      info = custom.find("cel.example.com", "v1", "widgets");
    }
    const ref = info;
    make = (i) =>
      registry.createSync(ref, "default", {
        apiVersion: "cel.example.com/v1",
        kind: "Widget",
        metadata: { name: `w-${i}` },
        spec: {
          replicas: 3,
          minReplicas: 1,
          host: "a.example",
          memory: "512Mi",
          mode: "fast",
          generation: 1,
          ports: [
            { name: "http", port: 8080 },
            { name: "https", port: 8443 },
          ],
          labels: { app: "web", tier: "front" },
          tags: ["a", "b", "c"],
        },
      } as KubeObject);
  }
  for (let i = 0; i < 200; i++) make(-i - 1); // warm up
  const t = performance.now();
  for (let i = 0; i < N; i++) make(i);
  const seconds = (performance.now() - t) / 1000;
  custom.stop();
  return N / seconds;
}

const configMaps = await ratePerSecond("configmap");
const plain = await ratePerSecond(false);
const withRules = await ratePerSecond(true);
console.log(JSON.stringify({ configMaps, plain, withRules, ratio: withRules / plain }));
const lines: Line[] = [
  {
    measure: "ConfigMap creates, in process",
    value: Math.round(configMaps),
    unit: "/s",
    better: "higher",
    detail: `${N} objects`,
  },
  {
    measure: "Widget creates, schema without rules, in process",
    value: Math.round(plain),
    unit: "/s",
    better: "higher",
    anchor: { value: Math.round(configMaps), source: "measured: ConfigMap creates, same run" },
  },
  {
    measure: "Widget creates, schema with 11 CEL rules, in process",
    value: Math.round(withRules),
    unit: "/s",
    better: "higher",
    detail: `${N} objects`,
    anchor: { value: Math.round(plain), source: "measured: same CRD without rules, same run" },
  },
];
console.log(`wrote ${result.done(lines)}`);
