/**
 * Pod spec validation as k8s `pkg/apis/core/validation` does it (`ValidatePodSpec`,
 * `ValidatePodTemplateSpec`, `ValidatePodUpdate`), limited to the fields loopkube acts on:
 * containers, ports, env, volumes and mounts, probes, policies, hostname/subdomain. Images are
 * required as in kube even though loopkube runs host programs.
 *
 * @module
 */
import {
  type FieldError,
  fieldDuplicate,
  fieldForbidden,
  fieldInvalid,
  fieldNotSupported,
  fieldRequired,
} from "../errors.ts";
import { isDNS1123Label, isDNS1123Subdomain } from "../validation.ts";
import { fieldNotFound } from "./_errors.ts";
import { arr, isObj, type Obj, objs, semanticEqual, str } from "./_util.ts";
import { validateAnnotations, validateLabels } from "./meta.ts";
import { volumeSourceCount } from "./pod_defaults.ts";
import { validateEphemeralContainers, validateNoEphemeralInTemplate } from "./pod_ephemeral.ts";
import { validatePodScheduling } from "./pod_scheduling.ts";

export function isValidPortNum(port: unknown): string[] {
  return typeof port === "number" && Number.isInteger(port) && port >= 1 && port <= 65535
    ? []
    : ["must be between 1 and 65535, inclusive"];
}

export function isValidPortName(name: string): string[] {
  const errs: string[] = [];
  if (name.length > 15) errs.push("must be no more than 15 characters");
  if (!/^[-a-z0-9]+$/.test(name)) {
    errs.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
  }
  if (!/[a-z]/.test(name)) errs.push("must contain at least one letter (a-z)");
  if (name.includes("--")) errs.push("must not contain consecutive hyphens");
  if (name.startsWith("-") || name.endsWith("-")) errs.push("must not begin or end with a hyphen");
  return errs;
}

/** ValidatePortNumOrName for targetPort-like int-or-string fields. */
export function validatePortNumOrName(value: unknown, path: string): FieldError[] {
  if (typeof value === "string")
    return isValidPortName(value).map((m) => fieldInvalid(path, value, m));
  return isValidPortNum(value).map((m) => fieldInvalid(path, value, m));
}

export const PROTOCOLS = ["SCTP", "TCP", "UDP"];

function dnsLabel(value: string, path: string): FieldError[] {
  return isDNS1123Label(value).map((m) => fieldInvalid(path, value, m));
}

function nonNegative(errs: FieldError[], value: unknown, path: string): void {
  if (typeof value === "number" && value < 0) {
    errs.push(fieldInvalid(path, value, "must be greater than or equal to 0"));
  }
}

function validateHandler(h: Obj, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const kinds = ["exec", "httpGet", "tcpSocket", "grpc", "sleep"].filter((k) => isObj(h[k]));
  if (kinds.length === 0) errs.push(fieldRequired(path, "must specify a handler type"));
  else if (kinds.length > 1)
    errs.push(fieldForbidden(path, "may not specify more than 1 handler type"));
  if (isObj(h.httpGet)) {
    errs.push(...validatePortNumOrName(h.httpGet.port, `${path}.httpGet.port`));
    const scheme = str(h.httpGet.scheme);
    if (scheme !== "" && scheme !== "HTTP" && scheme !== "HTTPS") {
      errs.push(fieldNotSupported(`${path}.httpGet.scheme`, scheme, ["HTTP", "HTTPS"]));
    }
  }
  if (isObj(h.tcpSocket))
    errs.push(...validatePortNumOrName(h.tcpSocket.port, `${path}.tcpSocket.port`));
  if (isObj(h.exec) && arr(h.exec.command).length === 0) {
    errs.push(fieldRequired(`${path}.exec.command`));
  }
  return errs;
}

function validateProbe(probe: unknown, path: string, mustSucceedOnce: boolean): FieldError[] {
  if (!isObj(probe)) return [];
  const errs = validateHandler(probe, path);
  for (const f of [
    "initialDelaySeconds",
    "timeoutSeconds",
    "periodSeconds",
    "successThreshold",
    "failureThreshold",
  ]) {
    nonNegative(errs, probe[f], `${path}.${f}`);
  }
  if (
    mustSucceedOnce &&
    typeof probe.successThreshold === "number" &&
    probe.successThreshold !== 1
  ) {
    errs.push(fieldInvalid(`${path}.successThreshold`, probe.successThreshold, "must be 1"));
  }
  return errs;
}

function validateContainer(
  c: Obj,
  path: string,
  volumes: Set<string>,
  isInit: boolean,
): FieldError[] {
  const errs: FieldError[] = [];
  const image = str(c.image);
  if (image === "") errs.push(fieldRequired(`${path}.image`));
  else if (image.trim() !== image) {
    errs.push(fieldInvalid(`${path}.image`, image, "must not have leading or trailing whitespace"));
  }
  const portNames = new Set<string>();
  objs(c.ports).forEach((p, i) => {
    const pp = `${path}.ports[${i}]`;
    const name = str(p.name);
    if (name !== "") {
      for (const m of isValidPortName(name)) errs.push(fieldInvalid(`${pp}.name`, name, m));
      if (portNames.has(name)) errs.push(fieldDuplicate(`${pp}.name`, name));
      portNames.add(name);
    }
    if (p.containerPort === undefined || p.containerPort === 0) {
      errs.push(fieldRequired(`${pp}.containerPort`));
    } else {
      for (const m of isValidPortNum(p.containerPort))
        errs.push(fieldInvalid(`${pp}.containerPort`, p.containerPort, m));
    }
    if (p.hostPort !== undefined && p.hostPort !== 0) {
      for (const m of isValidPortNum(p.hostPort))
        errs.push(fieldInvalid(`${pp}.hostPort`, p.hostPort, m));
    }
    const protocol = str(p.protocol);
    if (protocol === "") errs.push(fieldRequired(`${pp}.protocol`));
    else if (!PROTOCOLS.includes(protocol))
      errs.push(fieldNotSupported(`${pp}.protocol`, protocol, PROTOCOLS));
  });
  objs(c.env).forEach((e, i) => {
    const ep = `${path}.env[${i}]`;
    const name = str(e.name);
    if (name === "") errs.push(fieldRequired(`${ep}.name`));
    else if (!/^[\x20-\x3c\x3e-\x7e]+$/.test(name)) {
      errs.push(
        fieldInvalid(
          `${ep}.name`,
          name,
          "a valid environment variable name must consist only of printable ASCII characters other than '='",
        ),
      );
    }
  });
  const mountPaths = new Set<string>();
  objs(c.volumeMounts).forEach((m, i) => {
    const mp = `${path}.volumeMounts[${i}]`;
    const name = str(m.name);
    if (name === "") errs.push(fieldRequired(`${mp}.name`));
    else if (!volumes.has(name)) errs.push(fieldNotFound(`${mp}.name`, name));
    const mountPath = str(m.mountPath);
    if (mountPath === "") errs.push(fieldRequired(`${mp}.mountPath`));
    else if (mountPaths.has(mountPath))
      errs.push(fieldInvalid(`${mp}.mountPath`, mountPath, "must be unique"));
    mountPaths.add(mountPath);
  });
  const pullPolicy = str(c.imagePullPolicy);
  if (pullPolicy === "") errs.push(fieldRequired(`${path}.imagePullPolicy`));
  else if (!["Always", "IfNotPresent", "Never"].includes(pullPolicy)) {
    errs.push(
      fieldNotSupported(`${path}.imagePullPolicy`, pullPolicy, ["Always", "IfNotPresent", "Never"]),
    );
  }
  const tmp = str(c.terminationMessagePolicy);
  if (tmp === "")
    errs.push(
      fieldRequired(
        `${path}.terminationMessagePolicy`,
        "must be 'File' or 'FallbackToLogsOnError'",
      ),
    );
  else if (tmp !== "File" && tmp !== "FallbackToLogsOnError") {
    errs.push(
      fieldInvalid(
        `${path}.terminationMessagePolicy`,
        tmp,
        "must be 'File' or 'FallbackToLogsOnError'",
      ),
    );
  }
  const sidecar = isInit && c.restartPolicy === "Always";
  if (isInit && !sidecar) {
    for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"]) {
      if (c[probe] !== undefined) {
        errs.push(
          fieldForbidden(
            `${path}.${probe}`,
            `may not be set for init containers without restartPolicy=Always`,
          ),
        );
      }
    }
  } else {
    errs.push(...validateProbe(c.livenessProbe, `${path}.livenessProbe`, true));
    errs.push(...validateProbe(c.readinessProbe, `${path}.readinessProbe`, false));
    errs.push(...validateProbe(c.startupProbe, `${path}.startupProbe`, true));
  }
  if (isInit && c.restartPolicy !== undefined && c.restartPolicy !== "Always") {
    errs.push(fieldNotSupported(`${path}.restartPolicy`, c.restartPolicy, ["Always"]));
  }
  return errs;
}

const DNS_POLICIES = ["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"];

/** ValidatePodSpec for the fields loopkube uses; `path` is the spec's path (`spec`). */
export function validatePodSpec(spec: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const s: Obj = isObj(spec) ? spec : {};

  const volumes = new Set<string>();
  objs(s.volumes).forEach((v, i) => {
    const vp = `${path}.volumes[${i}]`;
    const name = str(v.name);
    if (name === "") errs.push(fieldRequired(`${vp}.name`));
    else {
      errs.push(...dnsLabel(name, `${vp}.name`));
      if (volumes.has(name)) errs.push(fieldDuplicate(`${vp}.name`, name));
    }
    volumes.add(name);
    const n = volumeSourceCount(v);
    if (n === 0) errs.push(fieldRequired(vp, "must specify a volume type"));
    else if (n > 1) errs.push(fieldForbidden(vp, "may not specify more than 1 volume type"));
    if (isObj(v.persistentVolumeClaim) && str(v.persistentVolumeClaim.claimName) === "") {
      errs.push(fieldRequired(`${vp}.persistentVolumeClaim.claimName`));
    }
    if (isObj(v.projected)) {
      objs(v.projected.sources).forEach((src, j) => {
        if (!isObj(src.serviceAccountToken)) return;
        const tp = `${vp}.projected.sources[${j}].serviceAccountToken`;
        const seconds = src.serviceAccountToken.expirationSeconds;
        if (typeof seconds === "number" && seconds < 600) {
          errs.push(
            fieldInvalid(
              `${tp}.expirationSeconds`,
              seconds,
              "may not specify a duration less than 10 minutes",
            ),
          );
        }
        if (typeof seconds === "number" && seconds > 2 ** 32) {
          errs.push(
            fieldInvalid(
              `${tp}.expirationSeconds`,
              seconds,
              "may not specify a duration larger than 2^32 seconds",
            ),
          );
        }
        if (str(src.serviceAccountToken.path) === "") errs.push(fieldRequired(`${tp}.path`));
      });
    }
  });

  const containers = objs(s.containers);
  if (containers.length === 0) errs.push(fieldRequired(`${path}.containers`));
  const names = new Set<string>();
  const checkName = (c: Obj, cp: string) => {
    const name = str(c.name);
    if (name === "") errs.push(fieldRequired(`${cp}.name`));
    else {
      errs.push(...dnsLabel(name, `${cp}.name`));
      if (names.has(name)) errs.push(fieldDuplicate(`${cp}.name`, name));
    }
    names.add(name);
  };
  objs(s.initContainers).forEach((c, i) => {
    const cp = `${path}.initContainers[${i}]`;
    checkName(c, cp);
    errs.push(...validateContainer(c, cp, volumes, true));
  });
  containers.forEach((c, i) => {
    const cp = `${path}.containers[${i}]`;
    checkName(c, cp);
    errs.push(...validateContainer(c, cp, volumes, false));
  });
  objs(s.ephemeralContainers).forEach((c, i) => {
    const cp = `${path}.ephemeralContainers[${i}]`;
    const name = str(c.name);
    if (name === "") errs.push(fieldRequired(`${cp}.name`));
    else errs.push(...dnsLabel(name, `${cp}.name`));
    errs.push(...validateContainer(c, cp, volumes, false));
  });
  errs.push(...validateEphemeralContainers(s, path, names));

  const restartPolicy = str(s.restartPolicy);
  if (restartPolicy === "") errs.push(fieldRequired(`${path}.restartPolicy`));
  else if (!["Always", "OnFailure", "Never"].includes(restartPolicy)) {
    errs.push(
      fieldNotSupported(`${path}.restartPolicy`, restartPolicy, ["Always", "OnFailure", "Never"]),
    );
  }
  const dnsPolicy = str(s.dnsPolicy);
  if (dnsPolicy === "") errs.push(fieldRequired(`${path}.dnsPolicy`));
  else if (!DNS_POLICIES.includes(dnsPolicy))
    errs.push(fieldNotSupported(`${path}.dnsPolicy`, dnsPolicy, DNS_POLICIES));
  if (dnsPolicy === "None" && !isObj(s.dnsConfig)) {
    errs.push(
      fieldRequired(`${path}.dnsConfig`, "must provide `dnsConfig` when `dnsPolicy` is None"),
    );
  }
  if (s.activeDeadlineSeconds !== undefined) {
    const v = s.activeDeadlineSeconds;
    if (typeof v !== "number" || v < 1 || v > 2147483647) {
      errs.push(
        fieldInvalid(
          `${path}.activeDeadlineSeconds`,
          v,
          "must be between 1 and 2147483647, inclusive",
        ),
      );
    }
  }
  for (const f of ["hostname", "subdomain"]) {
    const v = str(s[f]);
    if (v !== "") errs.push(...dnsLabel(v, `${path}.${f}`));
  }
  const nodeName = str(s.nodeName);
  if (nodeName !== "") {
    for (const m of isDNS1123Subdomain(nodeName))
      errs.push(fieldInvalid(`${path}.nodeName`, nodeName, m));
  }
  const sa = str(s.serviceAccountName);
  if (sa !== "") {
    for (const m of isDNS1123Subdomain(sa))
      errs.push(fieldInvalid(`${path}.serviceAccountName`, sa, m));
  }
  errs.push(...validatePodScheduling(s, path));
  return errs;
}

/** ValidatePodTemplateSpec: template labels are reported at `<path>.labels`, as kube does. */
export function validatePodTemplate(template: unknown, path: string): FieldError[] {
  if (!isObj(template)) return [fieldRequired(path)];
  const meta = isObj(template.metadata) ? template.metadata : {};
  return [
    ...validateLabels(meta.labels, `${path}.labels`),
    ...validateAnnotations(meta.annotations, `${path}.annotations`),
    ...validatePodSpec(template.spec, `${path}.spec`),
    ...validateNoEphemeralInTemplate(template.spec, `${path}.spec`),
  ];
}

export const POD_UPDATE_FORBIDDEN =
  "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/**
 * ValidatePodUpdate's spec rule: the old spec with the mutable fields taken from the new one must
 * equal the new spec. kube appends a Go diff of the two specs to the message; we do not.
 */
export function validatePodSpecUpdate(spec: unknown, old: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const s: Obj = isObj(spec) ? spec : {};
  const o: Obj = isObj(old) ? old : {};
  const newDeadline = s.activeDeadlineSeconds;
  const oldDeadline = o.activeDeadlineSeconds;
  if (typeof oldDeadline === "number") {
    if (newDeadline === undefined || newDeadline === null) {
      errs.push(
        fieldInvalid(
          `${path}.activeDeadlineSeconds`,
          null,
          "must not update from a positive integer to nil value",
        ),
      );
    } else if (typeof newDeadline === "number" && newDeadline > oldDeadline) {
      errs.push(
        fieldInvalid(
          `${path}.activeDeadlineSeconds`,
          newDeadline,
          "must be less than or equal to previous value",
        ),
      );
    }
  }
  const munged: Obj = structuredClone(o);
  const take = (key: "containers" | "initContainers") => {
    const mc = objs(munged[key]);
    const nc = objs(s[key]);
    if (mc.length !== nc.length) return;
    mc.forEach((c, i) => {
      const image = nc[i]?.image;
      if (image !== undefined) c.image = image;
    });
  };
  take("containers");
  take("initContainers");
  munged.activeDeadlineSeconds = s.activeDeadlineSeconds;
  // Tolerations may only grow: keep the new list when every old toleration is still there.
  const oldTol = objs(o.tolerations);
  const newTol = objs(s.tolerations);
  if (oldTol.every((t) => newTol.some((n) => semanticEqual(n, t))))
    munged.tolerations = s.tolerations;
  if (
    typeof o.terminationGracePeriodSeconds === "number" &&
    o.terminationGracePeriodSeconds < 0 &&
    s.terminationGracePeriodSeconds === 1
  ) {
    munged.terminationGracePeriodSeconds = 1;
  }
  if (!semanticEqual(munged, s)) errs.push(fieldForbidden(path, POD_UPDATE_FORBIDDEN));
  return errs;
}
