import assert from "node:assert/strict";
import { test } from "node:test";
import { type InitProgress, type InitStep, nextInitStep } from "./initorder.ts";

const fresh = (name: string, sidecar = false): InitProgress => ({
  name,
  sidecar,
  launched: false,
  started: false,
});
const running = (name: string, sidecar = false): InitProgress => ({
  ...fresh(name, sidecar),
  launched: true,
});
const started = (name: string): InitProgress => ({ ...running(name, true), started: true });
const completed = (name: string): InitProgress => ({ ...running(name), finished: true });
const failed = (name: string): InitProgress => ({ ...running(name), finished: false });

type Case = [what: string, inits: InitProgress[], want: InitStep];
const cases: Case[] = [
  ["a pod without init containers is done at once", [], { type: "done" }],
  ["the first init container starts first", [fresh("a"), fresh("b")], { type: "start", name: "a" }],
  [
    "the next one waits while a regular init container runs",
    [running("a"), fresh("b")],
    { type: "wait", name: "a" },
  ],
  [
    "the next one starts once the previous completed",
    [completed("a"), fresh("b")],
    { type: "start", name: "b" },
  ],
  [
    "a regular init container that failed for good stops the pod's initialization",
    [failed("a"), fresh("b")],
    { type: "failed", name: "a" },
  ],
  [
    "a sidecar that runs but has not started holds up the next",
    [running("proxy", true), fresh("b")],
    { type: "wait", name: "proxy" },
  ],
  [
    "a started sidecar lets the next init container start",
    [started("proxy"), fresh("b")],
    { type: "start", name: "b" },
  ],
  [
    "a sidecar after a regular one waits for its completion",
    [running("a"), fresh("proxy", true)],
    { type: "wait", name: "a" },
  ],
  [
    "init is done when the regular ones completed and the sidecars started",
    [started("proxy"), completed("a"), started("log")],
    { type: "done" },
  ],
  [
    "a sidecar in back-off after the next one began holds nothing up",
    [{ ...running("proxy", true), started: false }, completed("a"), fresh("b")],
    { type: "start", name: "b" },
  ],
  [
    "the last init container begun decides, whatever came before",
    [{ ...running("proxy", true), started: false }, running("a")],
    { type: "wait", name: "a" },
  ],
];
for (const [what, inits, want] of cases) {
  test(`nextInitStep: ${what}`, () => {
    assert.deepEqual(nextInitStep(inits), want);
  });
}
