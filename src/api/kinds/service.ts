/**
 * core/v1 services: SetDefaults_Service, ValidateService / ValidateServiceUpdate for the rules
 * users hit (ports, types, headless, ExternalName, clusterIP immutability), and the
 * `kubectl get svc` columns. IP and node-port allocation belong to the API server's allocator:
 * this file never assigns them, it only keeps assigned values across updates.
 *
 * @module
 */

import { sinceTimestamp } from "../duration.ts";
import {
  type FieldError,
  fieldDuplicate,
  fieldForbidden,
  fieldInvalid,
  fieldNotSupported,
  fieldRequired,
} from "../errors.ts";
import type { KubeObject } from "../types.ts";
import { isDNS1123Label, isDNS1123Subdomain } from "../validation.ts";
import { AGE, column, NAME } from "./_columns.ts";
import { duplicateRaw } from "./_errors.ts";
import { goServicePortKey } from "./_gofmt.ts";
import {
  arr,
  at,
  child,
  formatLabels,
  isObj,
  num,
  type Obj,
  objs,
  setDefault,
  str,
} from "./_util.ts";
import {
  nameIsDNS1035Label,
  validateLabels,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from "./meta.ts";
import { isValidPortNum, PROTOCOLS, validatePortNumOrName } from "./pod_validation.ts";
import type { KindStrategy } from "./types.ts";

const TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];

export function defaultService(svc: Obj): void {
  const spec = child(svc, "spec");
  setDefault(spec, "sessionAffinity", "None");
  if (spec.sessionAffinity === "None") delete spec.sessionAffinityConfig;
  if (spec.sessionAffinity === "ClientIP") {
    const timeout = at(spec, "sessionAffinityConfig", "clientIP", "timeoutSeconds");
    if (typeof timeout !== "number")
      spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: 10800 } };
  }
  setDefault(spec, "type", "ClusterIP");
  for (const p of objs(spec.ports)) {
    setDefault(p, "protocol", "TCP");
    if (
      p.targetPort === undefined ||
      p.targetPort === null ||
      p.targetPort === 0 ||
      p.targetPort === ""
    ) {
      p.targetPort = p.port;
    }
  }
  const type = spec.type;
  if (type === "NodePort" || type === "LoadBalancer")
    setDefault(spec, "externalTrafficPolicy", "Cluster");
  if (type === "NodePort" || type === "LoadBalancer" || type === "ClusterIP") {
    setDefault(spec, "internalTrafficPolicy", "Cluster");
  }
  if (type === "LoadBalancer") {
    setDefault(spec, "allocateLoadBalancerNodePorts", true);
    for (const ing of objs(at(svc, "status", "loadBalancer", "ingress"))) {
      if (str(ing.ip) !== "" && ing.ipMode === undefined) ing.ipMode = "VIP";
    }
  }
}

/** The cluster IPs as the REST layer normalizes them: clusterIPs, else [clusterIP]. */
function clusterIPs(spec: Obj): string[] {
  const ips = arr(spec.clusterIPs).map(str);
  if (ips.length > 0) return ips;
  const ip = str(spec.clusterIP);
  return ip === "" ? [] : [ip];
}

function isIP(s: string): boolean {
  if (/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(s)) {
    return s.split(".").every((o) => Number(o) <= 255 && (o === "0" || !o.startsWith("0")));
  }
  return s.includes(":") && /^[0-9a-fA-F:.]+$/.test(s) && s.split("::").length <= 2;
}

const SOURCE_RANGES_ANNOTATION = "service.beta.kubernetes.io/load-balancer-source-ranges";

/** A CIDR as Go's ParseCIDR reads it (IPv4 or IPv6, host bits allowed). */
function isCIDR(s: string): boolean {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s);
  if (m === null || !isIP(m[1] ?? "")) return false;
  return Number(m[2]) <= ((m[1] ?? "").includes(":") ? 128 : 32);
}

/**
 * `spec.loadBalancerSourceRanges` (entries trimmed) or, without them, the legacy annotation
 * (comma-separated): only for LoadBalancer Services, and CIDRs (kube's field path and messages).
 */
function validateSourceRanges(obj: KubeObject, spec: Obj): FieldError[] {
  const ranges = arr(spec.loadBalancerSourceRanges).map((r) => str(r));
  const annotation = obj.metadata?.annotations?.[SOURCE_RANGES_ANNOTATION];
  if (ranges.length === 0 && annotation === undefined) return [];
  const [field, value, entries] =
    ranges.length > 0
      ? ["spec.LoadBalancerSourceRanges", `[${ranges.join(" ")}]`, ranges.map((r) => r.trim())]
      : [
          `metadata.annotations[${SOURCE_RANGES_ANNOTATION}]`,
          annotation ?? "",
          (annotation?.trim() || "0.0.0.0/0").split(","),
        ];
  const errs: FieldError[] = [];
  if (str(spec.type) !== "LoadBalancer")
    errs.push(fieldForbidden(field, "may only be used when `type` is 'LoadBalancer'"));
  if (!entries.every(isCIDR)) {
    errs.push(
      fieldInvalid(
        field,
        value,
        "must be a list of IP ranges. For example, 10.240.0.0/24,10.250.0.0/24 ",
      ),
    );
  }
  return errs;
}

function validateServiceSpec(spec: Obj): FieldError[] {
  const errs: FieldError[] = [];
  const type = str(spec.type);
  const ips = clusterIPs(spec);
  const headless = ips[0] === "None";
  const ports = objs(spec.ports);

  if (ports.length === 0 && !headless && type !== "ExternalName")
    errs.push(fieldRequired("spec.ports"));
  if (type === "") errs.push(fieldRequired("spec.type"));
  else if (!TYPES.includes(type)) errs.push(fieldNotSupported("spec.type", type, TYPES));

  if (type === "ExternalName") {
    if (ips.length > 0)
      errs.push(fieldForbidden("spec.clusterIPs", "may not be set for ExternalName services"));
    const name = str(spec.externalName);
    if (name === "") errs.push(fieldRequired("spec.externalName"));
    else {
      for (const m of isDNS1123Subdomain(name.replace(/\.$/, "")))
        errs.push(fieldInvalid("spec.externalName", name, m));
    }
  } else {
    const single = str(spec.clusterIP);
    if (
      single !== "" &&
      arr(spec.clusterIPs).length > 0 &&
      str(arr(spec.clusterIPs)[0]) !== single
    ) {
      errs.push({
        type: "FieldValueInvalid",
        field: "spec.clusterIPs",
        message: `Invalid value: ${JSON.stringify(arr(spec.clusterIPs))}: first value must match \`clusterIP\``,
      });
    }
    ips.forEach((ip, i) => {
      if (ip === "None") {
        if (i !== 0 || ips.length > 1) {
          errs.push(
            fieldInvalid(`spec.clusterIPs[${i}]`, ip, "'None' must be the first and only value"),
          );
        }
      } else if (!isIP(ip)) {
        errs.push(
          fieldInvalid(
            `spec.clusterIPs[${i}]`,
            ip,
            "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
          ),
        );
      }
    });
  }
  if (headless && (type === "LoadBalancer" || type === "NodePort")) {
    errs.push(
      fieldInvalid("spec.clusterIPs[0]", "None", `may not be set to 'None' for ${type} services`),
    );
  }

  const requireName = ports.length > 1;
  const names = new Set<string>();
  ports.forEach((p, i) => {
    const pp = `spec.ports[${i}]`;
    const name = str(p.name);
    if (requireName && name === "") errs.push(fieldRequired(`${pp}.name`));
    else if (name !== "") {
      for (const m of isDNS1123Label(name)) errs.push(fieldInvalid(`${pp}.name`, name, m));
      if (names.has(name)) errs.push(fieldDuplicate(`${pp}.name`, name));
      names.add(name);
    }
    for (const m of isValidPortNum(p.port)) errs.push(fieldInvalid(`${pp}.port`, p.port ?? 0, m));
    const protocol = str(p.protocol);
    if (protocol === "") errs.push(fieldRequired(`${pp}.protocol`));
    else if (!PROTOCOLS.includes(protocol))
      errs.push(fieldNotSupported(`${pp}.protocol`, protocol, PROTOCOLS));
    errs.push(...validatePortNumOrName(p.targetPort, `${pp}.targetPort`));
    if (type === "ClusterIP" && num(p.nodePort) !== 0) {
      errs.push(fieldForbidden(`${pp}.nodePort`, "may not be used when `type` is 'ClusterIP'"));
    }
    if (num(p.nodePort) !== 0) {
      for (const m of isValidPortNum(p.nodePort))
        errs.push(fieldInvalid(`${pp}.nodePort`, p.nodePort, m));
    }
  });
  // Duplicates by (protocol, port) and by (protocol, nodePort), as kube keys them.
  const seen = new Set<string>();
  const seenNode = new Set<string>();
  ports.forEach((p, i) => {
    const key = `${str(p.protocol)}/${num(p.port)}`;
    if (seen.has(key))
      errs.push(duplicateRaw(`spec.ports[${i}]`, goServicePortKey(str(p.protocol), num(p.port))));
    seen.add(key);
    if (num(p.nodePort) !== 0) {
      const nkey = `${str(p.protocol)}/${num(p.nodePort)}`;
      if (seenNode.has(nkey)) errs.push(fieldDuplicate(`spec.ports[${i}].nodePort`, p.nodePort));
      seenNode.add(nkey);
    }
  });

  const affinity = str(spec.sessionAffinity);
  if (affinity === "") errs.push(fieldRequired("spec.sessionAffinity"));
  else if (affinity !== "None" && affinity !== "ClientIP") {
    errs.push(fieldNotSupported("spec.sessionAffinity", affinity, ["ClientIP", "None"]));
  }
  for (const f of ["externalTrafficPolicy", "internalTrafficPolicy"]) {
    const v = str(spec[f]);
    if (v !== "" && v !== "Cluster" && v !== "Local")
      errs.push(fieldNotSupported(`spec.${f}`, v, ["Cluster", "Local"]));
  }
  if (str(spec.externalTrafficPolicy) !== "" && type !== "NodePort" && type !== "LoadBalancer") {
    errs.push(
      fieldInvalid(
        "spec.externalTrafficPolicy",
        spec.externalTrafficPolicy,
        "may only be set for externally-accessible services",
      ),
    );
  }
  errs.push(...validateLabels(spec.selector, "spec.selector"));
  return errs;
}

export const serviceStrategy: KindStrategy = {
  group: "",
  version: "v1",
  kind: "Service",
  resource: "services",
  singular: "service",
  shortNames: ["svc"],
  categories: ["all"],
  namespaced: true,
  hasGeneration: false,
  hasStatus: true,
  applyDefaults(obj) {
    defaultService(obj as Obj);
  },
  prepareForCreate(obj) {
    obj.status = {};
  },
  prepareForUpdate(obj, old) {
    // An update that leaves allocated values empty keeps them (kube's patchAllocatedValues).
    const spec = child(obj as Obj, "spec");
    const oldSpec = isObj(old.spec) ? old.spec : {};
    const external = (t: unknown) => t === "NodePort" || t === "LoadBalancer";
    // kube's dropTypeDependentFields: leaving NodePort/LoadBalancer drops what only they use,
    // when the update did not set it explicitly to something new.
    if (!external(spec.type) && external(oldSpec.type)) {
      if (spec.externalTrafficPolicy === oldSpec.externalTrafficPolicy)
        delete spec.externalTrafficPolicy;
      if (spec.healthCheckNodePort === oldSpec.healthCheckNodePort) delete spec.healthCheckNodePort;
      const oldPorts = objs(oldSpec.ports);
      for (const p of objs(spec.ports)) {
        if (oldPorts.some((o) => o.nodePort === p.nodePort)) delete p.nodePort;
      }
      if (spec.allocateLoadBalancerNodePorts === oldSpec.allocateLoadBalancerNodePorts) {
        delete spec.allocateLoadBalancerNodePorts;
      }
    }
    if (spec.type === "ExternalName" || oldSpec.type === "ExternalName") return;
    if (str(spec.clusterIP) === "" && str(oldSpec.clusterIP) !== "")
      spec.clusterIP = oldSpec.clusterIP;
    if (
      arr(spec.clusterIPs).length === 0 &&
      arr(oldSpec.clusterIPs).length > 0 &&
      spec.clusterIP === oldSpec.clusterIP
    ) {
      spec.clusterIPs = structuredClone(oldSpec.clusterIPs);
    }
    for (const f of ["ipFamilies", "ipFamilyPolicy"]) {
      if (spec[f] === undefined && oldSpec[f] !== undefined) spec[f] = structuredClone(oldSpec[f]);
    }
    if (spec.type === "NodePort" || spec.type === "LoadBalancer") {
      const oldPorts = objs(oldSpec.ports);
      for (const p of objs(spec.ports)) {
        if (num(p.nodePort) !== 0) continue;
        const match = oldPorts.find(
          (o) => o.port === p.port && (o.protocol ?? "TCP") === (p.protocol ?? "TCP"),
        );
        if (match && num(match.nodePort) !== 0) p.nodePort = match.nodePort;
      }
    }
    if (spec.healthCheckNodePort === undefined && oldSpec.healthCheckNodePort !== undefined) {
      spec.healthCheckNodePort = oldSpec.healthCheckNodePort;
    }
  },
  validate(obj) {
    return [
      ...validateObjectMeta(obj.metadata, { namespaced: true, nameRule: nameIsDNS1035Label }),
      ...validateServiceSpec(isObj(obj.spec) ? obj.spec : {}),
      ...validateSourceRanges(obj, isObj(obj.spec) ? obj.spec : {}),
    ];
  },
  validateUpdate(obj, old) {
    const errs = [
      ...validateObjectMetaUpdate(obj.metadata, old.metadata),
      ...validateServiceSpec(isObj(obj.spec) ? obj.spec : {}),
      ...validateSourceRanges(obj, isObj(obj.spec) ? obj.spec : {}),
    ];
    const spec = isObj(obj.spec) ? obj.spec : {};
    const oldSpec = isObj(old.spec) ? old.spec : {};
    if (spec.type !== "ExternalName" && oldSpec.type !== "ExternalName") {
      const before = clusterIPs(oldSpec);
      const after = clusterIPs(spec);
      if (before.length > 0 && after[0] !== before[0]) {
        errs.push({
          type: "FieldValueInvalid",
          field: "spec.clusterIPs[0]",
          message: `Invalid value: ${JSON.stringify(after)}: may not change once set`,
        });
      }
    }
    return errs;
  },
  columns: [
    NAME,
    column(
      "Type",
      "string",
      "type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer.",
    ),
    column(
      "Cluster-IP",
      "string",
      "clusterIP is the IP address of the service and is usually assigned randomly.",
    ),
    column(
      "External-IP",
      "string",
      "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.",
    ),
    column("Port(s)", "string", "The list of ports that are exposed by this service."),
    AGE,
    column(
      "Selector",
      "string",
      "Route service traffic to pods with label keys and values matching this selector.",
      1,
    ),
  ],
  row(obj, now) {
    const spec = isObj(obj.spec) ? obj.spec : {};
    const ips = arr(spec.clusterIPs).map(str);
    const internalIP = ips[0] ?? (str(spec.clusterIP) || "<none>");
    const ports = objs(spec.ports)
      .map((p) =>
        num(p.nodePort) > 0
          ? `${num(p.port)}:${num(p.nodePort)}/${str(p.protocol)}`
          : `${num(p.port)}/${str(p.protocol)}`,
      )
      .join(",");
    return [
      obj.metadata.name ?? "",
      str(spec.type),
      internalIP,
      serviceExternalIP(obj),
      ports || "<none>",
      sinceTimestamp(obj.metadata.creationTimestamp, now),
      formatLabels(spec.selector),
    ];
  },
  selectableFields(obj) {
    return {
      "spec.clusterIP": str(at(obj, "spec", "clusterIP")),
      "spec.type": str(at(obj, "spec", "type")),
    };
  },
};

/** EXTERNAL-IP: external IPs, load balancer ingress, `<pending>`, or the ExternalName. */
export function serviceExternalIP(svc: KubeObject): string {
  const spec = isObj(svc.spec) ? svc.spec : {};
  const external = arr(spec.externalIPs).map(str);
  switch (spec.type) {
    case "ClusterIP":
    case "NodePort":
      return external.length > 0 ? external.join(",") : "<none>";
    case "LoadBalancer": {
      const ingress = objs(at(svc, "status", "loadBalancer", "ingress"))
        .map((i) => str(i.ip) || str(i.hostname))
        .filter((s) => s !== "");
      const all = [...ingress, ...external];
      return all.length > 0 ? all.join(",") : "<pending>";
    }
    case "ExternalName":
      return str(spec.externalName);
    default:
      return "<unknown>";
  }
}
