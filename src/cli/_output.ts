/**
 * `-o json|yaml` for the commands that describe clusters (`list`, `status`), and the plain
 * column table they print otherwise (kubectl's layout: upper-case headers, columns three spaces
 * apart, `<none>` where a value is absent).
 *
 * Machine output is an object with `apiVersion: loopkube.dev/v1alpha1` and a `kind`, as kube's
 * own objects are, so a script can tell what it reads and the shape can change only with the
 * version.
 *
 * @module
 */
import { Option } from "commander";
import { stringify } from "yaml";
import type { Io } from "./_shared.ts";

export const API_VERSION = "loopkube.dev/v1alpha1";

export type OutputFormat = "json" | "yaml";

export function outputOption(extra: string[] = []): Option {
  const names = extra.includes("name") ? "; name: the names alone" : "";
  return new Option("-o, --output <format>", `json or yaml instead of text${names}`).choices([
    "json",
    "yaml",
    ...extra,
  ]);
}

/** Writes `value` as pretty JSON or YAML. */
export function printObject(io: Io, format: OutputFormat, value: object): void {
  io.raw(format === "json" ? `${JSON.stringify(value, null, 2)}\n` : stringify(value));
}

/** Rows of cells as kubectl aligns them; the last column is not padded. */
export function formatColumns(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
  return all
    .map((r) =>
      r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd((widths[i] ?? 0) + 3))).join(""),
    )
    .join("\n");
}

export const NONE = "<none>";
