/**
 * The health endpoints as kube-apiserver answers them: `/livez`, `/healthz` and `/readyz`, each
 * a list of named checks. Plain: `ok` (200) when all pass; otherwise 500 with one line per check
 * and `<endpoint> check failed`. `?verbose` lists every check (`[+]name ok` / `[-]name failed:
 * reason`) and ends `<endpoint> check passed`; `?exclude=name` (repeatable) leaves checks out;
 * `/readyz/<name>` runs that one check (404 when there is no such check).
 *
 * @module
 */

export interface HealthCheck {
  name: string;
  ok: boolean;
  /** Why it fails, shown after `failed:`. */
  reason?: string;
  /** What a passing check found, shown after `ok: ` with `?verbose` (e.g. the OCI runtime). */
  info?: string;
}

export interface HealthAnswer {
  status: number;
  body: string;
}

export function answerHealth(
  endpoint: "healthz" | "livez" | "readyz",
  checks: readonly HealthCheck[],
  request: { path: string; query: URLSearchParams },
): HealthAnswer {
  const single = request.path.slice(endpoint.length + 2);
  if (single !== "") {
    const check = checks.find((c) => c.name === single);
    if (!check) return { status: 404, body: "404 page not found\n" };
    return check.ok
      ? { status: 200, body: "ok" }
      : { status: 500, body: `internal server error: ${check.reason ?? "not ready"}\n` };
  }
  const excluded = new Set(request.query.getAll("exclude"));
  const run = checks.filter((c) => !excluded.has(c.name));
  const failed = run.some((c) => !c.ok);
  const verbose = request.query.has("verbose");
  if (!failed && !verbose) return { status: 200, body: "ok" };
  const lines = run.map((c) =>
    c.ok
      ? `[+]${c.name} ok${c.info ? `: ${c.info}` : ""}`
      : `[-]${c.name} failed: ${c.reason ?? "not ready"}`,
  );
  for (const name of excluded) lines.push(`[+]${name} excluded: ok`);
  lines.push(`${endpoint} check ${failed ? "failed" : "passed"}`);
  return { status: failed ? 500 : 200, body: `${lines.join("\n")}\n` };
}
