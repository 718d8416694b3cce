import assert from "node:assert/strict";
import { test } from "node:test";
import {
  addQuantity,
  canonicalQuantity,
  compareQuantity,
  formatQuantity,
  isQuantity,
  quantity,
  quantityValue,
  subtractQuantity,
} from "./quantity.ts";

test("canonicalQuantity prints quantities as kube's Quantity.String does", () => {
  const cases: Array<[string | number, string]> = [
    ["1", "1"],
    ["1000m", "1"],
    ["1500m", "1500m"],
    ["1.5", "1500m"],
    ["0.5", "500m"],
    ["100m", "100m"],
    ["2000", "2k"],
    ["1500000", "1500k"],
    ["1e3", "1e3"],
    ["1E3", "1e3"],
    ["1500e0", "1500"],
    ["1Gi", "1Gi"],
    ["1024Mi", "1Gi"],
    ["1536Mi", "1536Mi"],
    ["1.5Gi", "1536Mi"],
    ["1024", "1024"],
    ["1025", "1025"],
    ["512", "512"],
    ["0.5Ki", "512"],
    ["128974848", "128974848"],
    ["129e6", "129e6"],
    ["129M", "129M"],
    ["123Mi", "123Mi"],
    ["0", "0"],
    ["0Gi", "0"],
    ["-1", "-1"],
    ["-500m", "-500m"],
    ["0.1n", "1n"],
    [3, "3"],
  ];
  for (const [input, want] of cases) assert.equal(canonicalQuantity(input), want, String(input));
});

test("quantity refuses what kube's ParseQuantity refuses", () => {
  for (const bad of ["", ".", "1x", "abc", "1 Gi", "1Gb", "--1"]) {
    assert.throws(() => quantity(bad), Error, bad);
    assert.equal(isQuantity(bad), false, bad);
  }
  assert.equal(isQuantity("250m"), true);
  assert.equal(isQuantity(2), true);
});

test("sums keep the format of the first non-zero term, compare exactly and round up to whole units", () => {
  const sum = addQuantity(quantity("1Gi"), quantity("512Mi"));
  assert.equal(formatQuantity(sum), "1536Mi");
  assert.equal(formatQuantity(addQuantity(quantity("0"), quantity("1Mi"))), "1Mi");
  assert.equal(formatQuantity(addQuantity(quantity("500m"), quantity("1"))), "1500m");
  assert.equal(formatQuantity(subtractQuantity(quantity("2"), quantity("500m"))), "1500m");
  assert.equal(compareQuantity(quantity("1"), quantity("1000m")), 0);
  assert.equal(compareQuantity(quantity("999m"), quantity("1")), -1);
  assert.equal(compareQuantity(quantity("1Ki"), quantity("1k")), 1);
  assert.equal(quantityValue(quantity("1500m")), 2n);
  assert.equal(quantityValue(quantity("2")), 2n);
});
