/**
 * A container's environment as the kubelet builds it (pkg/kubelet/kubelet_pods.go
 * makeEnvironmentVariables): service variables first (docker-link style, for the services of the
 * pod's namespace when `enableServiceLinks` is not false, and the `kubernetes` service always),
 * then `envFrom` sources in order, then `env` entries in order, each expanded with `$(VAR)`
 * against what is defined so far. Lookups of ConfigMaps and Secrets are injected.
 *
 * Errors that keep a container from starting are thrown as `EnvError`; the worker reports them as
 * `CreateContainerConfigError`, as the kubelet does.
 *
 * @module
 */
import type { Container, EnvVar, Pod, Service } from "kubernetes-types/core/v1.js";
import { parseQuantity } from "../api/quantity.ts";
import { expandVars } from "./expand.ts";

/** A container that cannot be configured: it waits with `reason` (default CreateContainerConfigError). */
export class EnvError extends Error {
  override name = "EnvError";
  constructor(
    message: string,
    readonly reason?: string,
  ) {
    super(message);
  }
}

export interface EnvSources {
  /** `data` of a ConfigMap (binaryData ignored), undefined when it does not exist. */
  getConfigMap(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  /** Decoded `data` of a Secret, undefined when it does not exist. */
  getSecret(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  /** Services visible to the pod: those of its namespace plus `default/kubernetes`. */
  services: Service[];
  /** Node allocatable, for resourceFieldRef of an unset limit. */
  allocatable: { cpu: number; memory: number };
  podIP: string;
  hostIP: string;
  /** Host variables every process needs (PATH…), lowest precedence. */
  base?: Record<string, string>;
}

const envName = (s: string) => s.toUpperCase().replace(/[-.]/g, "_");
const C_IDENTIFIER = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/** Service variables for `pod` (pkg/kubelet/envvars FromServices). */
export function serviceEnv(pod: Pod, services: Service[]): Record<string, string> {
  const ns = pod.metadata?.namespace ?? "default";
  const links = pod.spec?.enableServiceLinks !== false;
  const chosen = new Map<string, Service>();
  for (const s of services) {
    const ip = s.spec?.clusterIP;
    if (!ip || ip === "None") continue;
    const sns = s.metadata?.namespace ?? "";
    const name = s.metadata?.name ?? "";
    const master = sns === "default" && name === "kubernetes";
    if (sns === ns && (links || master)) chosen.set(name, s);
    else if (master && !chosen.has(name)) chosen.set(name, s);
  }
  const out: Record<string, string> = {};
  const ordered = [...chosen.values()].sort((a, b) =>
    (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""),
  );
  for (const s of ordered) {
    const prefix = envName(s.metadata?.name ?? "");
    const ip = s.spec?.clusterIP ?? "";
    const ports = s.spec?.ports ?? [];
    const first = ports[0];
    out[`${prefix}_SERVICE_HOST`] = ip;
    if (!first) continue;
    out[`${prefix}_SERVICE_PORT`] = String(first.port);
    for (const p of ports) {
      if (p.name) out[`${prefix}_SERVICE_PORT_${envName(p.name)}`] = String(p.port);
    }
    const proto = (first.protocol ?? "TCP").toLowerCase();
    out[`${prefix}_PORT`] = `${proto}://${ip}:${first.port}`;
    for (const p of ports) {
      const pr = (p.protocol ?? "TCP").toUpperCase();
      const key = `${prefix}_PORT_${p.port}_${pr}`;
      out[key] = `${pr.toLowerCase()}://${ip}:${p.port}`;
      out[`${key}_PROTO`] = pr.toLowerCase();
      out[`${key}_PORT`] = String(p.port);
      out[`${key}_ADDR`] = ip;
    }
  }
  return out;
}

/** A downward API field path (`metadata.name`, `metadata.labels['app']`, `status.podIP`…). */
export function fieldValue(pod: Pod, path: string, ips: { podIP: string; hostIP: string }): string {
  const m = /^metadata\.(labels|annotations)\['(.*)'\]$/.exec(path);
  if (m) {
    const map = (m[1] === "labels" ? pod.metadata?.labels : pod.metadata?.annotations) ?? {};
    return map[m[2] ?? ""] ?? "";
  }
  switch (path) {
    case "metadata.name":
      return pod.metadata?.name ?? "";
    case "metadata.namespace":
      return pod.metadata?.namespace ?? "";
    case "metadata.uid":
      return pod.metadata?.uid ?? "";
    case "spec.nodeName":
      return pod.spec?.nodeName ?? "";
    case "spec.serviceAccountName":
      return pod.spec?.serviceAccountName ?? "";
    case "status.hostIP":
    case "status.hostIPs":
      return ips.hostIP;
    case "status.podIP":
    case "status.podIPs":
      return ips.podIP;
    default:
      throw new EnvError(`unsupported fieldRef ${JSON.stringify(path)}`);
  }
}

/** resourceFieldRef: requests/limits of cpu, memory, ephemeral-storage, divided and rounded up. */
export function resourceValue(
  container: Container,
  resource: string,
  divisor: string | undefined,
  allocatable: { cpu: number; memory: number },
): string {
  const [kind, name] = resource.split(".") as [string, string | undefined];
  if ((kind !== "limits" && kind !== "requests") || !name) {
    throw new EnvError(`unsupported resourceFieldRef ${JSON.stringify(resource)}`);
  }
  const r = container.resources?.[kind]?.[name];
  let value: number;
  if (r !== undefined) value = parseQuantity(r);
  else if (kind === "limits" && name === "cpu") value = allocatable.cpu;
  else if (kind === "limits" && name === "memory") value = allocatable.memory;
  else value = 0;
  const d = divisor ? parseQuantity(divisor) : 1;
  if (d <= 0) throw new EnvError(`invalid divisor ${JSON.stringify(divisor)}`);
  return String(Math.ceil(value / d - 1e-9));
}

export async function containerEnv(
  pod: Pod,
  container: Container,
  src: EnvSources,
): Promise<Record<string, string>> {
  const ns = pod.metadata?.namespace ?? "default";
  const defined: Record<string, string> = {};
  for (const [k, v] of Object.entries(serviceEnv(pod, src.services))) defined[k] = v;
  const set = (k: string, v: string) => {
    defined[k] = v;
  };

  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? "";
    let data: Record<string, string> | undefined;
    if (from.configMapRef) {
      const name = from.configMapRef.name ?? "";
      data = await src.getConfigMap(ns, name);
      if (!data && !from.configMapRef.optional) throw new EnvError(`configmap "${name}" not found`);
    } else if (from.secretRef) {
      const name = from.secretRef.name ?? "";
      data = await src.getSecret(ns, name);
      if (!data && !from.secretRef.optional) throw new EnvError(`secret "${name}" not found`);
    }
    for (const [k, v] of Object.entries(data ?? {})) {
      if (C_IDENTIFIER.test(prefix + k)) set(prefix + k, v);
    }
  }

  for (const e of container.env ?? []) {
    const v = await envValue(pod, container, e, src, defined);
    if (v !== undefined) set(e.name, v);
  }

  const ips = { POD_IP: src.podIP, HOSTNAME: podHostname(pod) };
  return { ...src.base, ...ips, ...defined };
}

async function envValue(
  pod: Pod,
  container: Container,
  e: EnvVar,
  src: EnvSources,
  defined: Record<string, string>,
): Promise<string | undefined> {
  const ns = pod.metadata?.namespace ?? "default";
  if (!e.valueFrom) return expandVars(e.value ?? "", (n) => defined[n]);
  const f = e.valueFrom;
  if (f.fieldRef) return fieldValue(pod, f.fieldRef.fieldPath, src);
  if (f.resourceFieldRef) {
    const target = f.resourceFieldRef.containerName
      ? (pod.spec?.containers.find((c) => c.name === f.resourceFieldRef?.containerName) ??
        container)
      : container;
    return resourceValue(
      target,
      f.resourceFieldRef.resource,
      f.resourceFieldRef.divisor,
      src.allocatable,
    );
  }
  const ref = f.configMapKeyRef ?? f.secretKeyRef;
  if (ref) {
    const isCm = Boolean(f.configMapKeyRef);
    const name = ref.name ?? "";
    const data = isCm ? await src.getConfigMap(ns, name) : await src.getSecret(ns, name);
    if (!data) {
      if (ref.optional) return undefined;
      throw new EnvError(`${isCm ? "configmap" : "secret"} "${name}" not found`);
    }
    const v = data[ref.key];
    if (v === undefined) {
      if (ref.optional) return undefined;
      throw new EnvError(
        `couldn't find key ${ref.key} in ${isCm ? "ConfigMap" : "Secret"} ${ns}/${name}`,
      );
    }
    return v;
  }
  return undefined;
}

/** The pod's hostname: `spec.hostname` or the pod name, cut to 63 characters as the kubelet does. */
export function podHostname(pod: Pod): string {
  const h = pod.spec?.hostname || pod.metadata?.name || "";
  return h.slice(0, 63).replace(/[-.]+$/, "");
}
