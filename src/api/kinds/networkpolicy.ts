/**
 * networking.k8s.io/v1 networkpolicies: kube's defaults (port protocol TCP; `policyTypes`
 * Ingress, plus Egress when egress rules are given), the validation of Kubernetes 1.32 (label
 * selectors, peers, ports and port ranges, IP blocks, policy types) and the `kubectl get netpol`
 * columns (NAME POD-SELECTOR AGE).
 *
 * Stored and shown only: nothing enforces a policy until pods have network namespaces of their
 * own (README says so).
 *
 * @module
 */
import { isIP } from "node:net";
import { sinceTimestamp } from "../duration.ts";
import {
  type FieldError,
  fieldForbidden,
  fieldInvalid,
  fieldNotSupported,
  fieldRequired,
} from "../errors.ts";
import type { KubeObject } from "../types.ts";
import { AGE, column, NAME } from "./_columns.ts";
import { invalidRaw } from "./_errors.ts";
import { selectorString, validateLabelSelector } from "./_selector.ts";
import { simpleValidators } from "./_simple.ts";
import { arr, isObj, type Obj, objs, setDefault, str } from "./_util.ts";
import { nameIsDNSSubdomain } from "./meta.ts";
import { isValidPortName, isValidPortNum, PROTOCOLS } from "./pod_validation.ts";
import type { KindStrategy } from "./types.ts";

const POLICY_TYPES = ["Ingress", "Egress"];

interface ParsedCidr {
  bits: number;
  /** The network address as a big integer (IPv4 in 32 bits, IPv6 in 128). */
  network: bigint;
  prefix: number;
}

function ipToBigInt(ip: string, family: number): bigint {
  if (family === 4) {
    return ip.split(".").reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
  }
  const [head = "", tail = ""] = ip.split("::");
  const part = (s: string) => (s === "" ? [] : s.split(":"));
  let groups = part(head);
  let rest = part(tail);
  // An embedded IPv4 tail (::ffff:1.2.3.4) counts as two groups.
  const expand = (gs: string[]) =>
    gs.flatMap((g) => {
      if (!g.includes(".")) return [g];
      const n = ipToBigInt(g, 4);
      return [(n >> 16n).toString(16), (n & 0xffffn).toString(16)];
    });
  groups = expand(groups);
  rest = expand(rest);
  const fill = ip.includes("::") ? 8 - groups.length - rest.length : 0;
  const all = [...groups, ...Array<string>(fill).fill("0"), ...rest];
  return all.reduce((acc, g) => (acc << 16n) | BigInt(Number.parseInt(g, 16)), 0n);
}

/** ParseCIDRSloppy: an address and a prefix length; the network is the address masked. */
function parseCidr(text: string): ParsedCidr | undefined {
  const slash = text.indexOf("/");
  if (slash < 0) return undefined;
  // Sloppy: IPv4 octets may carry leading zeros.
  const address = text.slice(0, slash).replace(/(^|\.)0+(\d)/g, "$1$2");
  const prefixText = text.slice(slash + 1);
  const family = isIP(address);
  if (family === 0 || !/^\d{1,3}$/.test(prefixText)) return undefined;
  const bits = family === 4 ? 32 : 128;
  const prefix = Number(prefixText);
  if (prefix > bits) return undefined;
  const mask = ((1n << BigInt(prefix)) - 1n) << BigInt(bits - prefix);
  return { bits, network: ipToBigInt(address, family) & mask, prefix };
}

function contains(outer: ParsedCidr, inner: ParsedCidr): boolean {
  if (outer.bits !== inner.bits) return false;
  const shift = BigInt(outer.bits - outer.prefix);
  return outer.network >> shift === inner.network >> shift;
}

function validateIpBlock(block: Obj, path: string): FieldError[] {
  const text = str(block.cidr);
  if (text === "") return [fieldRequired(`${path}.cidr`)];
  const cidr = parseCidr(text);
  if (cidr === undefined) return [fieldInvalid(`${path}.cidr`, text, "not a valid CIDR")];
  const errs: FieldError[] = [];
  for (const [i, value] of arr(block.except).entries()) {
    const exceptText = str(value);
    const except = parseCidr(exceptText);
    if (except === undefined) {
      errs.push(fieldInvalid(`${path}.except[${i}]`, exceptText, "not a valid CIDR"));
      return errs;
    }
    if (!contains(cidr, except) || cidr.prefix >= except.prefix)
      errs.push(
        fieldInvalid(`${path}.except[${i}]`, exceptText, "must be a strict subset of `cidr`"),
      );
  }
  return errs;
}

function validatePeer(peer: Obj, path: string): FieldError[] {
  const errs: FieldError[] = [];
  let peers = 0;
  if (isObj(peer.podSelector)) {
    peers++;
    errs.push(...validateLabelSelector(peer.podSelector, `${path}.podSelector`));
  }
  if (isObj(peer.namespaceSelector)) {
    peers++;
    errs.push(...validateLabelSelector(peer.namespaceSelector, `${path}.namespaceSelector`));
  }
  const hasBlock = isObj(peer.ipBlock);
  if (hasBlock) {
    peers++;
    errs.push(...validateIpBlock(peer.ipBlock as Obj, `${path}.ipBlock`));
  }
  if (peers === 0) errs.push(fieldRequired(path, "must specify a peer"));
  else if (peers > 1 && hasBlock)
    errs.push(fieldForbidden(path, "may not specify both ipBlock and another peer"));
  return errs;
}

function validatePort(port: Obj, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const protocol = port.protocol;
  if (protocol !== undefined && protocol !== null && !PROTOCOLS.includes(str(protocol)))
    errs.push(fieldNotSupported(`${path}.protocol`, protocol, ["TCP", "UDP", "SCTP"]));
  const value = port.port;
  const end = port.endPort;
  const hasEnd = end !== undefined && end !== null;
  if (typeof value === "number") {
    for (const m of isValidPortNum(value)) errs.push(fieldInvalid(`${path}.port`, value, m));
    if (hasEnd) {
      if (typeof end === "number" && end < value)
        errs.push(fieldInvalid(`${path}.endPort`, end, "must be greater than or equal to `port`"));
      for (const m of isValidPortNum(end)) errs.push(fieldInvalid(`${path}.endPort`, end, m));
    }
  } else if (typeof value === "string") {
    if (hasEnd)
      errs.push(
        fieldInvalid(`${path}.endPort`, end, "may not be specified when `port` is non-numeric"),
      );
    for (const m of isValidPortName(value)) errs.push(fieldInvalid(`${path}.port`, value, m));
  } else if (hasEnd) {
    errs.push(
      fieldInvalid(`${path}.endPort`, end, "may not be specified when `port` is not specified"),
    );
  }
  return errs;
}

/** ValidateNetworkPolicySpec. */
function validateNetworkPolicySpec(policy: KubeObject): FieldError[] {
  const spec: Obj = isObj(policy.spec) ? policy.spec : {};
  const errs = validateLabelSelector(spec.podSelector, "spec.podSelector");
  for (const [direction, peersField] of [
    ["ingress", "from"],
    ["egress", "to"],
  ] as const) {
    objs(spec[direction]).forEach((rule, i) => {
      const path = `spec.${direction}[${i}]`;
      objs(rule.ports).forEach((port, j) => {
        errs.push(...validatePort(port, `${path}.ports[${j}]`));
      });
      objs(rule[peersField]).forEach((peer, j) => {
        errs.push(...validatePeer(peer, `${path}.${peersField}[${j}]`));
      });
    });
  }
  const types = arr(spec.policyTypes).map(str);
  if (types.length > POLICY_TYPES.length) {
    const rendered = `[]networking.PolicyType{${types.map((t) => JSON.stringify(t)).join(", ")}}`;
    errs.push(
      invalidRaw("spec.policyTypes", rendered, "may not specify more than two policyTypes"),
    );
    return errs;
  }
  types.forEach((t, i) => {
    if (!POLICY_TYPES.includes(t))
      errs.push(fieldNotSupported(`spec.policyTypes[${i}]`, t, POLICY_TYPES));
  });
  return errs;
}

export const networkPolicyStrategy: KindStrategy = {
  group: "networking.k8s.io",
  version: "v1",
  kind: "NetworkPolicy",
  resource: "networkpolicies",
  singular: "networkpolicy",
  shortNames: ["netpol"],
  namespaced: true,
  hasGeneration: true,
  hasStatus: false,
  applyDefaults(obj) {
    if (!isObj(obj.spec)) return;
    const spec = obj.spec;
    for (const rule of [...objs(spec.ingress), ...objs(spec.egress)]) {
      for (const port of objs(rule.ports)) setDefault(port, "protocol", "TCP");
    }
    if (arr(spec.policyTypes).length === 0) {
      spec.policyTypes = objs(spec.egress).length > 0 ? ["Ingress", "Egress"] : ["Ingress"];
    }
  },
  ...simpleValidators({
    namespaced: true,
    nameRule: nameIsDNSSubdomain,
    spec: validateNetworkPolicySpec,
  }),
  columns: [
    NAME,
    column(
      "Pod-Selector",
      "string",
      "Selects the pods to which this NetworkPolicy object applies. The array of ingress rules is applied to any pods selected by this field. Multiple network policies can select the same set of pods. In this case, the ingress rules for each are combined additively. This field is NOT optional and follows standard label selector semantics. An empty podSelector matches all pods in this namespace.",
    ),
    AGE,
  ],
  row(policy, now) {
    const selector = isObj(policy.spec) ? policy.spec.podSelector : undefined;
    return [
      policy.metadata.name ?? "",
      selectorString(isObj(selector) ? selector : {}) || "<none>",
      sinceTimestamp(policy.metadata.creationTimestamp, now),
    ];
  },
};
