/**
 * CronJob schedules as Kubernetes reads them: the grammar of robfig/cron's `ParseStandard`, which
 * both kube-apiserver (validation) and the CronJob controller use, with its error messages —
 * five fields (minute hour day-of-month month day-of-week), `*` and `?`, lists, ranges, steps
 * (`N/step` means `N-max/step`), month and weekday names, the descriptors `@yearly`,
 * `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly` and `@every <duration>`,
 * and a leading `TZ=<zone>` or `CRON_TZ=<zone>`.
 *
 * Days match as in robfig/cron (and Vixie cron): when both day fields are restricted a day
 * matches either; when one is `*` or `?` only the other counts.
 *
 * The next activation is computed by `croner` (time zones and daylight saving through `Intl`):
 * each parsed field is handed over as an explicit list, so croner only walks the calendar and the
 * grammar stays robfig's. `@every` is a constant interval and needs no calendar.
 *
 * @module
 */
import { Cron } from "croner";

interface Bounds {
  min: number;
  max: number;
  names?: Record<string, number>;
}

const MINUTES: Bounds = { min: 0, max: 59 };
const HOURS: Bounds = { min: 0, max: 23 };
const DOM: Bounds = { min: 1, max: 31 };
const MONTHS: Bounds = {
  min: 1,
  max: 12,
  names: Object.fromEntries(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"].map(
      (n, i) => [n, i + 1],
    ),
  ),
};
const DOW: Bounds = {
  min: 0,
  max: 6,
  names: Object.fromEntries(
    ["sun", "mon", "tue", "wed", "thu", "fri", "sat"].map((n, i) => [n, i]),
  ),
};

/** One field: its values, and whether it was `*`/`?` (robfig's star bit). */
interface Field {
  values: Set<number>;
  star: boolean;
}

export interface CronSchedule {
  /** The first activation strictly after `after` (whole seconds, as robfig/cron). */
  next(after: Date): Date | undefined;
}

export class CronParseError extends Error {}

/** Go's `strconv.Atoi` error text for a non-number. */
function atoiError(s: string, range = false): string {
  return `strconv.Atoi: parsing ${JSON.stringify(s)}: ${range ? "value out of range" : "invalid syntax"}`;
}

function mustParseInt(expr: string): number {
  if (!/^[+-]?\d+$/.test(expr))
    throw new CronParseError(`failed to parse int from ${expr}: ${atoiError(expr)}`);
  const n = Number(expr);
  if (!Number.isSafeInteger(n))
    throw new CronParseError(`failed to parse int from ${expr}: ${atoiError(expr, true)}`);
  if (n < 0) throw new CronParseError(`negative number (${n}) not allowed: ${expr}`);
  return n;
}

function parseIntOrName(expr: string, names: Record<string, number> | undefined): number {
  const named = names?.[expr.toLowerCase()];
  return named ?? mustParseInt(expr);
}

function getRange(expr: string, r: Bounds, into: Field): void {
  const rangeAndStep = expr.split("/");
  const lowAndHigh = (rangeAndStep[0] ?? "").split("-");
  const singleDigit = lowAndHigh.length === 1;
  let start: number;
  let end: number;
  let star = false;
  if (lowAndHigh[0] === "*" || lowAndHigh[0] === "?") {
    start = r.min;
    end = r.max;
    star = true;
  } else {
    start = parseIntOrName(lowAndHigh[0] ?? "", r.names);
    if (lowAndHigh.length === 1) end = start;
    else if (lowAndHigh.length === 2) end = parseIntOrName(lowAndHigh[1] ?? "", r.names);
    else throw new CronParseError(`too many hyphens: ${expr}`);
  }
  let step = 1;
  if (rangeAndStep.length === 2) {
    step = mustParseInt(rangeAndStep[1] ?? "");
    if (singleDigit) end = r.max;
    if (step > 1) star = false;
  } else if (rangeAndStep.length > 2) {
    throw new CronParseError(`too many slashes: ${expr}`);
  }
  if (start < r.min)
    throw new CronParseError(`beginning of range (${start}) below minimum (${r.min}): ${expr}`);
  if (end > r.max)
    throw new CronParseError(`end of range (${end}) above maximum (${r.max}): ${expr}`);
  if (start > end)
    throw new CronParseError(`beginning of range (${start}) beyond end of range (${end}): ${expr}`);
  if (step === 0) throw new CronParseError(`step of range should be a positive number: ${expr}`);
  for (let v = start; v <= end; v += step) into.values.add(v);
  if (star) into.star = true;
}

function getField(text: string, r: Bounds): Field {
  const field: Field = { values: new Set(), star: false };
  for (const expr of text.split(",").filter((e) => e !== "")) getRange(expr, r, field);
  return field;
}

function all(r: Bounds): Field {
  const values = new Set<number>();
  for (let v = r.min; v <= r.max; v++) values.add(v);
  return { values, star: true };
}
const only = (v: number): Field => ({ values: new Set([v]), star: false });

const DESCRIPTORS: Record<string, () => Field[]> = {
  "@yearly": () => [only(0), only(0), only(1), only(1), all(DOW)],
  "@annually": () => [only(0), only(0), only(1), only(1), all(DOW)],
  "@monthly": () => [only(0), only(0), only(1), all(MONTHS), all(DOW)],
  "@weekly": () => [only(0), only(0), all(DOM), all(MONTHS), only(0)],
  "@daily": () => [only(0), only(0), all(DOM), all(MONTHS), all(DOW)],
  "@midnight": () => [only(0), only(0), all(DOM), all(MONTHS), all(DOW)],
  "@hourly": () => [only(0), all(HOURS), all(DOM), all(MONTHS), all(DOW)],
};

const UNIT_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Go's `time.ParseDuration`, in milliseconds. */
export function parseGoDuration(s: string): number {
  const bad = () => new Error(`time: invalid duration ${JSON.stringify(s)}`);
  let rest = s;
  let sign = 1;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    if (rest.startsWith("-")) sign = -1;
    rest = rest.slice(1);
  }
  if (rest === "0") return 0;
  if (rest === "") throw bad();
  let ns = 0;
  while (rest !== "") {
    const m = /^(\d*)(?:\.(\d*))?([a-zµμ]+)/.exec(rest);
    if (!m || (m[1] === "" && (m[2] ?? "") === "")) throw bad();
    const unit = UNIT_NS[m[3] ?? ""];
    if (unit === undefined)
      throw new Error(
        `time: unknown unit ${JSON.stringify(m[3])} in duration ${JSON.stringify(s)}`,
      );
    ns += Number(`${m[1] || "0"}.${m[2] || "0"}`) * unit;
    rest = rest.slice(m[0].length);
  }
  return (sign * ns) / 1e6;
}

/** IANA zone names as Go's `time.LoadLocation` knows them (`UTC` and `""` included). */
export function isKnownTimeZone(zone: string): boolean {
  if (zone === "" || zone === "UTC") return true;
  if (zone === "Local") return true;
  try {
    const resolved = new Intl.DateTimeFormat("en-US", { timeZone: zone }).resolvedOptions()
      .timeZone;
    // Intl matches names case-insensitively; Go's zoneinfo lookup does not.
    return !(resolved.toLowerCase() === zone.toLowerCase() && resolved !== zone);
  } catch {
    return false;
  }
}

class EverySchedule implements CronSchedule {
  constructor(private readonly delayMs: number) {}
  next(after: Date): Date {
    const t = after.getTime();
    return new Date(t - (((t % 1000) + 1000) % 1000) + this.delayMs);
  }
}

function listOf(f: Field): string {
  return [...f.values].sort((a, b) => a - b).join(",");
}

class SpecSchedule implements CronSchedule {
  readonly #cron: Cron;
  constructor(fields: Field[], zone: string | undefined) {
    const [minute, hour, dom, month, dow] = fields as [Field, Field, Field, Field, Field];
    const pattern = [
      listOf(minute),
      listOf(hour),
      dom.star ? "*" : listOf(dom),
      listOf(month),
      dow.star ? "*" : listOf(dow),
    ].join(" ");
    this.#cron = new Cron(pattern, {
      paused: true,
      mode: "5-part",
      domAndDow: false,
      ...(zone ? { timezone: zone } : {}),
    });
  }
  next(after: Date): Date | undefined {
    return this.#cron.nextRun(after) ?? undefined;
  }
}

/**
 * Parses a schedule as `cron.ParseStandard` does; throws a `CronParseError` with robfig/cron's
 * message (kube-apiserver's validation shows it as is). Without a `TZ=` prefix the schedule runs
 * in `defaultZone` (the controller's local zone when absent).
 */
export function parseCronSchedule(spec: string, defaultZone?: string): CronSchedule {
  if (spec.length === 0) throw new CronParseError("empty spec string");
  let zone = defaultZone;
  let rest = spec;
  if (rest.startsWith("TZ=") || rest.startsWith("CRON_TZ=")) {
    const space = rest.indexOf(" ");
    const eq = rest.indexOf("=");
    const name = space < 0 ? rest.slice(eq + 1) : rest.slice(eq + 1, space);
    if (!isKnownTimeZone(name) || name === "Local")
      throw new CronParseError(`provided bad location ${name}: unknown time zone ${name}`);
    zone = name === "" ? "UTC" : name;
    rest = space < 0 ? "" : rest.slice(space).trim();
  }
  if (rest.startsWith("@")) {
    const fixed = DESCRIPTORS[rest];
    if (fixed) return new SpecSchedule(fixed(), zone);
    if (rest.startsWith("@every ")) {
      let ms: number;
      try {
        ms = parseGoDuration(rest.slice("@every ".length));
      } catch (e) {
        throw new CronParseError(`failed to parse duration ${rest}: ${(e as Error).message}`);
      }
      // robfig/cron: at least one second, whole seconds only.
      ms = Math.max(ms, 1000);
      return new EverySchedule(ms - (ms % 1000));
    }
    throw new CronParseError(`unrecognized descriptor: ${rest}`);
  }
  const fields = rest.split(/\s+/).filter((f) => f !== "");
  if (fields.length !== 5)
    throw new CronParseError(
      `expected exactly 5 fields, found ${fields.length}: [${fields.join(" ")}]`,
    );
  const bounds = [MINUTES, HOURS, DOM, MONTHS, DOW];
  return new SpecSchedule(
    fields.map((f, i) => getField(f, bounds[i] as Bounds)),
    zone,
  );
}
