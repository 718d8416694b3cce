/**
 * The Prometheus text exposition format (version 0.0.4), as the Go client writes it, so that a
 * scrape of loopkube reads like a scrape of kube-apiserver or CoreDNS: one `# HELP` and one
 * `# TYPE` line per family, then its samples; histograms as cumulative `_bucket{le="…"}` series
 * ending in `le="+Inf"`, then `_sum` and `_count`; numbers as Go's `strconv.FormatFloat(v, 'g',
 * -1, 64)` prints them (`1e+06`, `0.00025`, `+Inf`, `NaN`).
 *
 * Escaping: label values escape backslash, double quote and newline; HELP text escapes backslash
 * and newline. Label and metric names are the caller's constants and are not checked here.
 *
 * This is the scrape-time half only: callers keep their figures in plain numbers and arrays, and
 * build text here when `/metrics` is read, never per request.
 *
 * @module
 */

/** The `Content-Type` of a scrape answer in this format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export type MetricType = "counter" | "gauge" | "histogram";

/** Label names and values, in the order they are written. */
export type Labels = ReadonlyArray<readonly [name: string, value: string]>;

/** A number as Go's `strconv.FormatFloat(v, 'g', -1, 64)`: shortest form, `e` form from 1e+06. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  if (v === 0) return "0"; // -0 too, as Go's expfmt writes it
  // toExponential() without digits gives the shortest round-trip mantissa, like Go's -1 precision.
  const [mantissa = "0", exponent = "0"] = v.toExponential().split("e");
  const exp = Number(exponent);
  if (exp < -4 || exp >= 6) {
    const digits = String(Math.abs(exp)).padStart(2, "0");
    return `${mantissa}e${exp < 0 ? "-" : "+"}${digits}`;
  }
  return String(v);
}

export function escapeLabelValue(value: string): string {
  if (!/[\\"\n]/.test(value)) return value;
  return value.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`));
}

function escapeHelp(help: string): string {
  if (!/[\\\n]/.test(help)) return help;
  return help.replace(/[\\\n]/g, (c) => (c === "\n" ? "\\n" : "\\\\"));
}

function labelText(labels: Labels, extra?: readonly [string, string]): string {
  if (labels.length === 0 && !extra) return "";
  const parts = labels.map(([name, value]) => `${name}="${escapeLabelValue(value)}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabelValue(extra[1])}"`);
  return `{${parts.join(",")}}`;
}

/**
 * Collects families and renders them. Families are written in the order they are declared; a
 * family declared twice keeps one HELP/TYPE header and all its samples.
 */
export class PrometheusWriter {
  private readonly families = new Map<string, { header: string; lines: string[] }>();

  /** Declares a family (HELP and TYPE); samples are added with `sample` or `histogram`. */
  family(name: string, type: MetricType, help: string): this {
    if (!this.families.has(name)) {
      this.families.set(name, {
        header: `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`,
        lines: [],
      });
    }
    return this;
  }

  private linesOf(name: string): string[] {
    const family = this.families.get(name);
    if (!family) throw new Error(`metric family ${name} was not declared`);
    return family.lines;
  }

  /** One counter or gauge sample. */
  sample(name: string, labels: Labels, value: number): this {
    this.linesOf(name).push(`${name}${labelText(labels)} ${formatValue(value)}`);
    return this;
  }

  /**
   * One histogram series. `counts[i]` is how many observations fell in bucket `i` alone (not
   * cumulative): at most `bounds[i]` and above `bounds[i - 1]`; `counts[bounds.length]` holds
   * those above the last bound. The `+Inf` bucket equals the count.
   */
  histogram(
    name: string,
    labels: Labels,
    series: { bounds: readonly number[]; counts: ArrayLike<number>; sum: number },
  ): this {
    const lines = this.linesOf(name);
    const { bounds, counts } = series;
    let cumulative = 0;
    for (let i = 0; i < bounds.length; i++) {
      cumulative += counts[i] ?? 0;
      const le = formatValue(bounds[i]!);
      lines.push(`${name}_bucket${labelText(labels, ["le", le])} ${formatValue(cumulative)}`);
    }
    cumulative += counts[bounds.length] ?? 0;
    lines.push(`${name}_bucket${labelText(labels, ["le", "+Inf"])} ${formatValue(cumulative)}`);
    lines.push(`${name}_sum${labelText(labels)} ${formatValue(series.sum)}`);
    lines.push(`${name}_count${labelText(labels)} ${formatValue(cumulative)}`);
    return this;
  }

  /** The exposition: every declared family with at least one sample. */
  text(): string {
    let out = "";
    for (const { header, lines } of this.families.values()) {
      if (lines.length === 0) continue;
      out += header;
      for (const line of lines) out += `${line}\n`;
    }
    return out;
  }
}

/** The index of the bucket `value` falls in: the first bound ≥ value, or `bounds.length`. */
export function bucketIndex(bounds: readonly number[], value: number): number {
  let i = 0;
  while (i < bounds.length && value > bounds[i]!) i++;
  return i;
}

/** A histogram kept as per-bucket counts (see `PrometheusWriter.histogram`). */
export class Histogram {
  readonly counts: Float64Array;
  sum = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    this.counts[bucketIndex(this.bounds, value)]!++;
    this.sum += value;
  }

  get count(): number {
    let n = 0;
    for (const c of this.counts) n += c;
    return n;
  }
}

/** `count` bounds starting at `start`, each `factor` times the one before (Go's ExponentialBuckets). */
export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  const out: number[] = [];
  let v = start;
  for (let i = 0; i < count; i++) {
    out.push(v);
    v *= factor;
  }
  return out;
}
