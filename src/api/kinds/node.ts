/**
 * core/v1 nodes (cluster-scoped): allocatable defaults to capacity, name and podCIDR checks,
 * and the `kubectl get nodes` columns: STATUS `Ready`/`NotReady`/`Unknown` plus
 * `SchedulingDisabled`, ROLES from `node-role.kubernetes.io/*` and `kubernetes.io/role` labels.
 *
 * @module
 */

import { sinceTimestamp } from "../duration.ts";
import { type FieldError, fieldForbidden, fieldInvalid } from "../errors.ts";
import type { KubeObject } from "../types.ts";
import { AGE, column, NAME } from "./_columns.ts";
import { simpleValidators } from "./_simple.ts";
import { validateTaints } from "./_taints.ts";
import { arr, at, isObj, objs, str, strMap } from "./_util.ts";
import { nameIsDNSSubdomain } from "./meta.ts";
import type { KindStrategy } from "./types.ts";

function isCIDR(s: string): boolean {
  const slash = s.indexOf("/");
  if (slash < 0) return false;
  const bits = Number(s.slice(slash + 1));
  const ip = s.slice(0, slash);
  if (/^(\d{1,3}\.){3}\d{1,3}$/.test(ip)) return Number.isInteger(bits) && bits >= 0 && bits <= 32;
  return ip.includes(":") && Number.isInteger(bits) && bits >= 0 && bits <= 128;
}

function validateNode(node: KubeObject): FieldError[] {
  const errs: FieldError[] = validateTaints(at(node, "spec", "taints"), "spec.taints");
  arr(at(node, "spec", "podCIDRs")).forEach((c, i) => {
    if (!isCIDR(str(c)))
      errs.push(
        fieldInvalid(
          `spec.podCIDRs[${i}]`,
          str(c),
          "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
        ),
      );
  });
  return errs;
}

function validateNodeUpdate(node: KubeObject, old: KubeObject): FieldError[] {
  const before = arr(at(old, "spec", "podCIDRs"));
  const after = arr(at(node, "spec", "podCIDRs"));
  if (before.length > 0 && JSON.stringify(before) !== JSON.stringify(after)) {
    return [
      fieldForbidden(
        "spec.podCIDRs",
        'node updates may not change podCIDR except from "" to valid',
      ),
    ];
  }
  return [];
}

/** ROLES: `node-role.kubernetes.io/<role>` keys and the `kubernetes.io/role` value, sorted. */
export function nodeRoles(node: KubeObject): string[] {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(strMap(node.metadata.labels))) {
    if (k.startsWith("node-role.kubernetes.io/")) {
      const role = k.slice("node-role.kubernetes.io/".length);
      if (role !== "") roles.add(role);
    } else if (k === "kubernetes.io/role" && v !== "") roles.add(v);
  }
  return [...roles].sort();
}

export function nodeStatus(node: KubeObject): string {
  const status: string[] = [];
  const ready = objs(at(node, "status", "conditions")).find((c) => c.type === "Ready");
  if (ready) status.push(ready.status === "True" ? "Ready" : "NotReady");
  if (status.length === 0) status.push("Unknown");
  if (at(node, "spec", "unschedulable") === true) status.push("SchedulingDisabled");
  return status.join(",");
}

function address(node: KubeObject, type: string): string {
  const a = objs(at(node, "status", "addresses")).find((x) => x.type === type);
  return a ? str(a.address) : "<none>";
}

export const nodeStrategy: KindStrategy = {
  group: "",
  version: "v1",
  kind: "Node",
  resource: "nodes",
  singular: "node",
  shortNames: ["no"],
  namespaced: false,
  hasGeneration: false,
  hasStatus: true,
  applyDefaults(obj) {
    const status = obj.status;
    if (isObj(status) && isObj(status.capacity) && !isObj(status.allocatable)) {
      status.allocatable = structuredClone(status.capacity);
    }
  },
  ...simpleValidators({
    namespaced: false,
    nameRule: nameIsDNSSubdomain,
    spec: validateNode,
    update: validateNodeUpdate,
  }),
  columns: [
    NAME,
    column("Status", "string", "The status of the node"),
    column("Roles", "string", "The roles of the node"),
    AGE,
    column("Version", "string", "Kubelet Version reported by the node."),
    column(
      "Internal-IP",
      "string",
      "List of addresses reachable to the node. Queried from cloud provider, if available.",
      1,
    ),
    column(
      "External-IP",
      "string",
      "List of addresses reachable to the node. Queried from cloud provider, if available.",
      1,
    ),
    column(
      "OS-Image",
      "string",
      "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
      1,
    ),
    column(
      "Kernel-Version",
      "string",
      "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
      1,
    ),
    column(
      "Container-Runtime",
      "string",
      "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
      1,
    ),
  ],
  row(node, now) {
    const info = at(node, "status", "nodeInfo");
    const roles = nodeRoles(node).join(",");
    return [
      node.metadata.name ?? "",
      nodeStatus(node),
      roles === "" ? "<none>" : roles,
      sinceTimestamp(node.metadata.creationTimestamp, now),
      str(at(info, "kubeletVersion")),
      address(node, "InternalIP"),
      address(node, "ExternalIP"),
      str(at(info, "osImage")) || "<unknown>",
      str(at(info, "kernelVersion")) || "<unknown>",
      str(at(info, "containerRuntimeVersion")) || "<unknown>",
    ];
  },
  selectableFields(node) {
    return { "spec.unschedulable": String(at(node, "spec", "unschedulable") === true) };
  },
};
