/**
 * Properties checked on seeded random documents: strategic merge on a kind without patch
 * metadata is RFC 7386; a re-apply by the only manager converges on the new configuration.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { KubeObject } from "../types.ts";
import { serverSideApply } from "./apply.ts";
import { applyMergePatch } from "./merge.ts";
import { applyStrategicMergePatch } from "./strategic.ts";

/** mulberry32: small, seeded, deterministic. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KEYS = ["a", "b", "c", "d", "e"];

function randomValue(r: () => number, depth: number, allowNull: boolean): unknown {
  const x = r();
  if (allowNull && x < 0.15) return null;
  if (depth > 0 && x < 0.55) return randomObject(r, depth - 1, allowNull);
  if (x < 0.7) return [`v${Math.floor(r() * 3)}`, `w${Math.floor(r() * 3)}`];
  if (x < 0.85) return Math.floor(r() * 4);
  return `s${Math.floor(r() * 4)}`;
}

function randomObject(r: () => number, depth: number, allowNull: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of KEYS) if (r() < 0.5) out[k] = randomValue(r, depth, allowNull);
  if (Object.keys(out).length === 0) out.a = "s0";
  return out;
}

const WIDGET = { group: "example.com", kind: "Widget" };

describe("patch properties", () => {
  it("strategic merge on a kind without metadata equals a JSON merge patch", () => {
    const r = rng(7);
    for (let i = 0; i < 500; i++) {
      const original = { metadata: { name: "x" }, spec: randomObject(r, 3, false) } as KubeObject;
      const patch = { spec: randomObject(r, 3, true) };
      assert.deepEqual(
        applyStrategicMergePatch(original, patch, WIDGET),
        applyMergePatch(original, patch),
        `case ${i}: ${JSON.stringify({ original, patch })}`,
      );
    }
  });

  it("a second apply by the sole manager leaves exactly the second configuration", () => {
    const r = rng(11);
    for (let i = 0; i < 300; i++) {
      const first = {
        apiVersion: "example.com/v1",
        kind: "Widget",
        metadata: { name: "x" },
        spec: randomObject(r, 3, false),
      };
      const second = {
        apiVersion: "example.com/v1",
        kind: "Widget",
        metadata: { name: "x" },
        spec: randomObject(r, 3, false),
      };
      const opts = { manager: "m", force: false, kind: WIDGET };
      const once = serverSideApply(undefined, first, opts).object;
      const twice = serverSideApply(once, second, opts).object;
      const { managedFields: _, ...meta } = twice.metadata;
      assert.deepEqual(
        { ...twice, metadata: meta },
        second,
        `case ${i}: ${JSON.stringify({ first, second })}`,
      );
    }
  });
});
