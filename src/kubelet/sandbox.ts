/**
 * The pod sandbox on Linux when the agent runs as root: the pod's processes run in private mount
 * and UTS namespaces (util-linux `unshare`, mounts private so nothing propagates back to the
 * host), with the pod's hostname and its own `/etc/hosts` and `/etc/resolv.conf` bind-mounted
 * from files under the pod directory (resolv.conf as the kubelet writes it: the cluster DNS,
 * `<ns>.svc.<zone> svc.<zone> <zone>`, `ndots:5`). No `--fork`: the chain execs down to the
 * container's supervisor, which stays the agent's direct child (its parent-death signal depends
 * on that). The host's filesystem is never written.
 *
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Pod } from "kubernetes-types/core/v1.js";
import { podHostname } from "./env.ts";
import { which } from "./process.ts";

let supported: boolean | undefined;
export function sandboxSupported(): boolean {
  if (supported === undefined) {
    const path = process.env.PATH ?? "";
    supported =
      process.platform === "linux" &&
      process.getuid?.() === 0 &&
      Boolean(which("unshare", path)) &&
      Boolean(which("mount", path)) &&
      Boolean(which("hostname", path));
  }
  return supported;
}

export function resolvConf(namespace: string, zone: string, dnsIP: string): string {
  return [
    `nameserver ${dnsIP}`,
    `search ${namespace}.svc.${zone} svc.${zone} ${zone}`,
    "options ndots:5",
    "",
  ].join("\n");
}

export function hostsFile(pod: Pod, podIP: string, zone: string): string {
  const host = podHostname(pod);
  const sub = pod.spec?.subdomain;
  const fqdn = sub ? `${host}.${sub}.${pod.metadata?.namespace}.svc.${zone}\t` : "";
  const lines = [
    "# Kubernetes-managed hosts file.",
    "127.0.0.1\tlocalhost",
    "::1\tlocalhost ip6-localhost ip6-loopback",
    "fe00::0\tip6-localnet",
    "fe00::0\tip6-mcastprefix",
    "fe00::1\tip6-allnodes",
    "fe00::2\tip6-allrouters",
    `${podIP}\t${fqdn}${host}`,
  ];
  for (const a of pod.spec?.hostAliases ?? []) {
    lines.push(`${a.ip}\t${(a.hostnames ?? []).join("\t")}`);
  }
  return `${lines.join("\n")}\n`;
}

const SETUP = [
  "set -e",
  'hostname "$LOOPKUBE_HOSTNAME"',
  'mount --bind "$LOOPKUBE_POD_DIR/etc/hosts" /etc/hosts',
  'mount --bind "$LOOPKUBE_POD_DIR/etc/resolv.conf" /etc/resolv.conf',
  "unset LOOPKUBE_HOSTNAME LOOPKUBE_POD_DIR",
  'exec "$@"',
].join("\n");

/** Writes the pod's files and returns the command prefix that enters its sandbox. */
export function sandboxPrefix(
  pod: Pod,
  o: { podDir: string; podIP: string; clusterDns: { ip: string; domain: string } },
): string[] {
  const etc = join(o.podDir, "etc");
  mkdirSync(etc, { recursive: true });
  const ns = pod.metadata?.namespace ?? "default";
  writeFileSync(join(etc, "hosts"), hostsFile(pod, o.podIP, o.clusterDns.domain));
  writeFileSync(join(etc, "resolv.conf"), resolvConf(ns, o.clusterDns.domain, o.clusterDns.ip));
  return [
    "env",
    `LOOPKUBE_HOSTNAME=${podHostname(pod)}`,
    `LOOPKUBE_POD_DIR=${o.podDir}`,
    "unshare",
    "--mount",
    "--uts",
    "--propagation",
    "private",
    "--",
    "sh",
    "-c",
    SETUP,
    "sh",
  ];
}
