import assert from "node:assert/strict";
import { test } from "node:test";
import { parseCri } from "./logs.ts";

test("parseCri joins partial records and keeps each line's first timestamp", () => {
  const text = [
    "2026-01-01T00:00:00.000000001Z stdout F one",
    "2026-01-01T00:00:01.000000000Z stderr P par",
    "2026-01-01T00:00:02.000000000Z stderr F tial",
    "not a record",
    "2026-01-01T00:00:03.000000000Z stdout F ",
    "",
  ].join("\n");
  assert.deepEqual(parseCri(text), [
    { time: "2026-01-01T00:00:00.000000001Z", text: "one" },
    { time: "2026-01-01T00:00:01.000000000Z", text: "partial" },
    { time: "2026-01-01T00:00:03.000000000Z", text: "" },
  ]);
});
