/**
 * The Available condition of a service-backed APIService, as kube-aggregator's availability
 * controller words it. {@link precheck} looks at the Service and its Endpoints (a missing
 * Service, a port it does not listen on, no Endpoints, no ready address with the port's name);
 * when those pass, the caller probes discovery (`GET /apis/<group>/<version>`) and
 * {@link probeCondition} words the result. {@link withCondition} keeps `lastTransitionTime`
 * while the status stays the same.
 *
 * Pure: the objects and the probe's outcome in, the condition out.
 *
 * @module
 */
import type { KubeObject } from "../../api/types.ts";

export interface Condition {
  type: "Available";
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  lastTransitionTime?: string;
}

export interface ServiceReference {
  namespace: string;
  name: string;
  port: number;
}

const unavailable = (reason: string, message: string): Condition => ({
  type: "Available",
  status: "False",
  reason,
  message,
});

interface ServiceSpec {
  type?: string;
  ports?: Array<{ name?: string; port: number }>;
}
interface Subset {
  addresses?: unknown[];
  ports?: Array<{ name?: string }>;
}

/**
 * The False condition the Service and Endpoints alone decide, or undefined when the discovery
 * probe must decide. `read` throwing is kube's access error.
 */
export function precheck(
  ref: ServiceReference,
  read: { service(): KubeObject | undefined; endpoints(): KubeObject | undefined },
): Condition | undefined {
  const where = `service/${ref.name} in "${ref.namespace}"`;
  let service: KubeObject | undefined;
  try {
    service = read.service();
  } catch (e) {
    return unavailable(
      "ServiceAccessError",
      `${where} cannot be checked due to: ${(e as Error).message}`,
    );
  }
  if (!service) return unavailable("ServiceNotFound", `${where} is not present`);
  const spec = (service.spec ?? {}) as ServiceSpec;
  // kube checks ports and endpoints of ClusterIP Services only (ExternalName has neither).
  if ((spec.type ?? "ClusterIP") !== "ClusterIP") return undefined;
  const port = (spec.ports ?? []).find((p) => p.port === ref.port);
  if (!port) {
    return unavailable("ServicePortError", `${where} is not listening on port ${ref.port}`);
  }
  let endpoints: KubeObject | undefined;
  try {
    endpoints = read.endpoints();
  } catch (e) {
    return unavailable(
      "EndpointsAccessError",
      `cannot find endpoints for ${where} due to: ${(e as Error).message}`,
    );
  }
  if (!endpoints) return unavailable("EndpointsNotFound", `cannot find endpoints for ${where}`);
  const portName = port.name ?? "";
  const subsets = ((endpoints as { subsets?: Subset[] }).subsets ?? []) as Subset[];
  const active = subsets.some(
    (s) =>
      (s.addresses?.length ?? 0) > 0 && (s.ports ?? []).some((p) => (p.name ?? "") === portName),
  );
  if (!active) {
    return unavailable(
      "MissingEndpoints",
      `endpoints for ${where} have no addresses with port name "${portName}"`,
    );
  }
  return undefined;
}

/** The outcome of a discovery probe of `url`. */
export type ProbeOutcome = { ok: true } | { status: number } | { error: string };

export function probeCondition(url: string, outcome: ProbeOutcome): Condition {
  if ("ok" in outcome) {
    return { type: "Available", status: "True", reason: "Passed", message: "all checks passed" };
  }
  const detail =
    "status" in outcome
      ? `bad status from ${url}: ${outcome.status}`
      : `Get "${url}": ${outcome.error}`;
  return unavailable("FailedDiscoveryCheck", `failing or missing response from ${url}: ${detail}`);
}

/**
 * The status conditions with `next` set: its lastTransitionTime is kept while the status is
 * unchanged. Undefined when nothing would change (no write needed).
 */
export function withCondition(
  conditions: Condition[],
  next: Condition,
  now: string,
): Condition[] | undefined {
  const old = conditions.find((c) => c.type === next.type);
  if (
    old &&
    old.status === next.status &&
    old.reason === next.reason &&
    old.message === next.message
  )
    return undefined;
  const lastTransitionTime =
    old && old.status === next.status ? (old.lastTransitionTime ?? now) : now;
  const set = { ...next, lastTransitionTime };
  return old ? conditions.map((c) => (c.type === next.type ? set : c)) : [...conditions, set];
}
