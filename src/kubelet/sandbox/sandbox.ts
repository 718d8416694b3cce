/**
 * The pod sandbox on Linux when the agent runs as root (or, without root, inside the user
 * namespace of rootless pod networks, see podnet_rootless.ts): the pod's processes run in private mount
 * and UTS namespaces (util-linux `unshare`, mounts private so nothing propagates back to the
 * host), with the pod's hostname and its own `/etc/hosts` and `/etc/resolv.conf` bind-mounted
 * from files under the pod directory, its volumes at their mountPath, in a chroot built of binds (resolv.conf as the kubelet writes it: the cluster DNS,
 * `<ns>.svc.<zone> svc.<zone> <zone>`, `ndots:5`). No `--fork`: the chain execs down to the
 * container's supervisor, which stays the agent's direct child (its parent-death signal depends
 * on that). The host's filesystem is never written.
 *
 * @module
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import type { Container, Pod } from "kubernetes-types/core/v1.js";
import { podHostname } from "../env.ts";
import { which } from "../runtimes/index.ts";

let supported: boolean | undefined;
export function sandboxSupported(): boolean {
  if (supported === undefined) {
    const path = process.env.PATH ?? "";
    supported =
      process.platform === "linux" &&
      process.getuid?.() === 0 &&
      Boolean(which("unshare", path)) &&
      Boolean(which("mount", path)) &&
      Boolean(which("nsenter", path)) &&
      Boolean(which("hostname", path));
  }
  return supported;
}

/**
 * Whether rootless pods get the sandbox: made inside the pod network's user namespace, where the
 * agent's user is root (a mount and a UTS namespace owned by it; the kernel's trial of `unshare
 * -r -n -m` at start already showed it allows mount namespaces there).
 */
export function rootlessSandboxSupported(): boolean {
  const path = process.env.PATH ?? "";
  return (
    process.platform === "linux" &&
    ["unshare", "mount", "nsenter", "hostname"].every((cmd) => Boolean(which(cmd, path)))
  );
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

const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

/**
 * The deepest directory of `path` that exists on the host, with symlinks resolved (so
 * `/var/run/x` on a host where `/var/run → /run` gives `/run`), and the missing rest.
 */
export function existingPrefix(path: string): { anchor: string; rest: string[] } {
  const parts = path.split("/").filter(Boolean);
  let at = "/";
  let i = 0;
  while (i < parts.length && existsSync(join(at, parts[i] ?? ""))) at = join(at, parts[i++] ?? "");
  return { anchor: realpathSync(at), rest: parts.slice(i) };
}

/**
 * The script lines that shadow host directory `dir` (inside root `R`, empty without a chroot)
 * in the container's private mount namespace: the original is kept reachable at `keep` (a bind),
 * a tmpfs with the directory's mode and owner covers it, and each entry is put back, a directory
 * as a recursive bind, a file as a bind, a symlink as a copy. Nothing is written to the host.
 */
function shadowLines(dir: string, R: string, keep: string): string[] {
  const st = statSync(dir);
  const at = `${R}${q(dir)}`;
  const mode = (st.mode & 0o7777).toString(8).padStart(4, "0");
  const lines = [
    `mkdir -p ${q(keep)}`,
    `mount --rbind ${at} ${q(keep)}`,
    `mount -t tmpfs -o mode=${mode},uid=${st.uid},gid=${st.gid} tmpfs ${at}`,
  ];
  // Mount points made with one `mkdir` and one `touch`: each command is a process start.
  const dirs: string[] = [];
  const files: string[] = [];
  const mounts: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const to = `${at}/${q(e.name)}`;
    const from = q(join(keep, e.name));
    if (e.isSymbolicLink()) lines.push(`ln -s ${q(readlinkSync(join(dir, e.name)))} ${to}`);
    else if (e.isDirectory()) {
      dirs.push(to);
      mounts.push(`mount --rbind ${from} ${to}`);
    } else {
      files.push(to);
      mounts.push(`mount --bind ${from} ${to}`);
    }
  }
  if (dirs.length > 0) lines.push(`mkdir -p ${dirs.join(" ")}`);
  if (files.length > 0) lines.push(`touch ${files.join(" ")}`);
  return [...lines, ...mounts];
}

export interface SandboxOptions {
  podDir: string;
  podIP: string;
  /** The kube-dns Service IP, the pod's nameserver (kubelet's `--cluster-dns`). */
  clusterDns: string;
  /** The cluster domain, for the pod's search path (kubelet's `--cluster-domain`). */
  clusterDomain: string;
  /** Volume name → host path, from materializeVolumes. */
  volumes: Map<string, string>;
  /** Told about each mount that cannot be made without touching the host. */
  onSkip(message: string): void;
  /** Where a container without `workingDir` starts (the host is the image: loopkube's cwd). */
  workingDir: string;
}

/**
 * Writes the pod's files and the container's setup script, and returns the command prefix that
 * enters its sandbox: a root directory under the pod directory whose top-level entries are
 * recursive binds (or symlinks) of the host's, with the pod's hosts/resolv.conf bound over the
 * host's and each volume bound at its mountPath; a mountPath whose top-level directory does not
 * exist on the host is created in that root (i.e. under the data dir). A mountPath missing
 * *inside* an existing host directory (the service-account token's
 * `/var/run/secrets/kubernetes.io/serviceaccount` on most hosts) is made by shadowing the
 * deepest existing directory on its way, in the container's own mount namespace only: a tmpfs
 * over it holding binds (and symlinks) of everything it held, in which the missing directories
 * are created. The host's directory is never written.
 */
export function sandboxPrefix(pod: Pod, container: Container, o: SandboxOptions): string[] {
  const etc = join(o.podDir, "etc");
  mkdirSync(etc, { recursive: true });
  const ns = pod.metadata?.namespace ?? "default";
  writeFileSync(join(etc, "hosts"), hostsFile(pod, o.podIP, o.clusterDomain));
  writeFileSync(join(etc, "resolv.conf"), resolvConf(ns, o.clusterDomain, o.clusterDns));
  const lines = [
    "set -e",
    `hostname ${q(podHostname(pod))}`,
    `mount --bind ${q(join(etc, "hosts"))} /etc/hosts`,
    `mount --bind ${q(join(etc, "resolv.conf"))} /etc/resolv.conf`,
  ];
  const topOf = (path: string) => path.split("/").filter(Boolean)[0] ?? "";
  // A chroot is needed only to create a mount point the host lacks at the top level; otherwise
  // volumes are bound straight over existing host paths (in our private namespace), which costs
  // far fewer mount calls at start.
  const needsRoot = (container.volumeMounts ?? []).some(
    (m) => topOf(m.mountPath) && !existsSync(`/${topOf(m.mountPath)}`),
  );
  const R = needsRoot ? '"$R"' : "";
  if (needsRoot) {
    lines.push(`R=${q(join(o.podDir, "root", container.name))}`, 'mkdir -p "$R"');
    for (const e of readdirSync("/", { withFileTypes: true })) {
      const at = `"$R"/${q(e.name)}`;
      if (e.isSymbolicLink()) lines.push(`ln -sfn ${q(readlinkSync(`/${e.name}`))} ${at}`);
      else if (e.isDirectory())
        lines.push(`mkdir -p ${at}`, `mount --rbind ${q(`/${e.name}`)} ${at}`);
    }
  }
  const shadowed = new Set<string>();
  for (const m of container.volumeMounts ?? []) {
    const base = o.volumes.get(m.name);
    if (!base) {
      o.onSkip(`volume "${m.name}" is not available for mount at ${m.mountPath}`);
      continue;
    }
    const src = m.subPath ? join(base, m.subPath) : base;
    const top = topOf(m.mountPath);
    let at = `${R}${q(m.mountPath)}`;
    if (!top) {
      o.onSkip(`cannot mount volume "${m.name}" at /`);
      continue;
    }
    const isFile = () => existsSync(src) && statSync(src).isFile();
    if (!existsSync(`/${top}`)) {
      lines.push(isFile() ? `mkdir -p "$(dirname ${at})" && touch ${at}` : `mkdir -p ${at}`);
    } else if (!existsSync(m.mountPath)) {
      const { anchor, rest } = existingPrefix(m.mountPath);
      const keep = join(o.podDir, "sandbox", "shadow", container.name, String(shadowed.size));
      if (anchor === "/" || keep.startsWith(`${anchor}/`)) {
        o.onSkip(
          `volume "${m.name}" not mounted: ${m.mountPath} would shadow ${anchor}, which holds the pod's own directory`,
        );
        continue;
      }
      if (!shadowed.has(anchor)) {
        const dir = keep;
        lines.push(...shadowLines(anchor, R, dir));
        shadowed.add(anchor);
      }
      at = `${R}${q(join(anchor, ...rest))}`;
      lines.push(isFile() ? `mkdir -p "$(dirname ${at})" && touch ${at}` : `mkdir -p ${at}`);
    }
    lines.push(`mount --bind ${q(src)} ${at}`);
    if (m.readOnly) lines.push(`mount -o remount,bind,ro ${at}`);
  }
  const wd = container.workingDir || o.workingDir;
  lines.push(
    needsRoot
      ? `exec chroot "$R" /bin/sh -c 'cd "$1" || exit 128; shift; exec "$@"' sh ${q(wd)} "$@"`
      : `cd ${q(wd)} || exit 128`,
    ...(needsRoot ? [] : ['exec "$@"']),
  );
  const dir = join(o.podDir, "sandbox");
  mkdirSync(dir, { recursive: true });
  const script = join(dir, `${container.name}.sh`);
  writeFileSync(script, `${lines.join("\n")}\n`);
  return ["unshare", "--mount", "--uts", "--propagation", "private", "--", "sh", script];
}
