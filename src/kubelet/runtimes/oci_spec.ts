/**
 * The OCI runtime-spec `config.json` of one container started from its image, as containerd's
 * CRI plugin generates it for the kubelet. Pure functions, no I/O: the caller reads the image's
 * `/etc/passwd` and `/etc/group` and hands their text in.
 *
 * - process: Entrypoint/Cmd against `command`/`args` as kube documents it ("Define a Command and
 *   Arguments for a Container"): neither → Entrypoint + Cmd; `command` only → command; `args`
 *   only → Entrypoint + args; both → command + args. `$(VAR)` expansion is the caller's (kube
 *   expands `command`/`args` only, never the image's).
 * - env: a default PATH and HOSTNAME, then the image's Env, then the container's (later wins).
 * - user: the image's `User` (`uid`, `name`, `uid:gid`, `name:group`, names from the image's
 *   /etc/passwd and /etc/group), overridden by `runAsUser`/`runAsGroup`; the user's groups from
 *   /etc/group plus `supplementalGroups` and `fsGroup` as additional gids.
 * - capabilities: containerd's default set, then `drop`, then `add` (`ALL` allowed); privileged:
 *   every capability the host's bounding set holds, no masked or read-only paths, /sys writable.
 * - its own mount, PID, UTS and IPC namespaces; the pod's network namespace by path (none given:
 *   the host's, as for hostNetwork pods); an ephemeral container with a target joins the
 *   target's PID namespace by path.
 * - `process.terminal` for `tty: true` with `stdin: true` (the runtime makes the pty).
 * - mounts: /proc, /dev (tmpfs), /dev/pts, /dev/shm, /dev/mqueue, /sys read-only, the pod's
 *   /etc/hosts, /etc/hostname, /etc/resolv.conf, then every volume at its mountPath (the runtime
 *   creates missing mount points inside the container's root, as containerd does).
 * - resources (only when the caller may use cgroups): memory limit, CPU quota from the CPU limit
 *   and shares from the CPU request, under a per-cluster cgroup path.
 *
 * @module
 */
import type { Container, Pod } from "kubernetes-types/core/v1.js";
import { parseQuantity } from "../../api/quantity.ts";
import type { ImageConfig, PreparedImage } from "../../images/index.ts";

/** The image store's own types: what a runtime gets from `ImageStore.ensure`. */
export type { ImageConfig, PreparedImage };

export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** containerd's default capabilities for a container (pkg/oci's defaultUnixCaps). */
export const DEFAULT_CAPABILITIES = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
];

/** Every capability by number (linux/capability.h), for privileged containers. */
export const ALL_CAPABILITIES = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_DAC_READ_SEARCH",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETPCAP",
  "CAP_LINUX_IMMUTABLE",
  "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN",
  "CAP_NET_RAW",
  "CAP_IPC_LOCK",
  "CAP_IPC_OWNER",
  "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO",
  "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN",
  "CAP_SYS_BOOT",
  "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG",
  "CAP_MKNOD",
  "CAP_LEASE",
  "CAP_AUDIT_WRITE",
  "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE",
  "CAP_MAC_ADMIN",
  "CAP_SYSLOG",
  "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ",
  "CAP_PERFMON",
  "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
];

/** containerd's masked and read-only paths of an unprivileged container. */
const MASKED_PATHS = [
  "/proc/acpi",
  "/proc/asound",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/sys/firmware",
  "/sys/devices/virtual/powercap",
];
const READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/** Thrown when the container cannot be configured (kube's CreateContainerConfigError). */
export class SpecError extends Error {
  override name = "SpecError";
}

/** The container's argv before `$(VAR)` expansion, from kube's table (see the module header). */
export function processArgs(image: ImageConfig, c: Pick<Container, "command" | "args">): string[] {
  const command = c.command ?? [];
  const args = c.args ?? [];
  if (command.length > 0) return [...command, ...args];
  const entrypoint = image.entrypoint ?? [];
  return args.length > 0 ? [...entrypoint, ...args] : [...entrypoint, ...(image.cmd ?? [])];
}

/** Default PATH and HOSTNAME, the image's Env, then the container's (later wins), as KEY=VALUE. */
export function mergeEnv(
  imageEnv: string[] | undefined,
  containerEnv: Record<string, string>,
  hostname: string,
): string[] {
  const out = new Map<string, string>([
    ["PATH", DEFAULT_PATH],
    ["HOSTNAME", hostname],
  ]);
  for (const entry of imageEnv ?? []) {
    const eq = entry.indexOf("=");
    if (eq > 0) out.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  for (const [k, v] of Object.entries(containerEnv)) out.set(k, v);
  return [...out].map(([k, v]) => `${k}=${v}`);
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

function parsePasswd(text: string): PasswdEntry[] {
  return text.split("\n").flatMap((line) => {
    const [name = "", , uid, gid] = line.split(":");
    return name && uid !== undefined && gid !== undefined && /^\d+$/.test(uid) && /^\d+$/.test(gid)
      ? [{ name, uid: Number(uid), gid: Number(gid) }]
      : [];
  });
}

function parseGroup(text: string): Array<{ name: string; gid: number; members: string[] }> {
  return text.split("\n").flatMap((line) => {
    const [name = "", , gid, members = ""] = line.split(":");
    return name && gid !== undefined && /^\d+$/.test(gid)
      ? [{ name, gid: Number(gid), members: members.split(",").filter(Boolean) }]
      : [];
  });
}

export interface ProcessUser {
  uid: number;
  gid: number;
  additionalGids?: number[];
}

/**
 * The process's user: the image's `User` resolved in the image's /etc/passwd and /etc/group,
 * overridden by the security context's runAsUser/runAsGroup, with supplementalGroups and
 * fsGroup (and the user's own groups) as additional gids. A name the image does not know is a
 * SpecError with containerd's wording.
 */
export function resolveUser(
  imageUser: string | undefined,
  sc: { runAsUser?: number; runAsGroup?: number; supplementalGroups?: number[]; fsGroup?: number },
  files: { passwd?: string; group?: string },
): ProcessUser {
  const passwd = parsePasswd(files.passwd ?? "");
  const groups = parseGroup(files.group ?? "");
  const [userPart = "", groupPart] = (imageUser ?? "").split(":");
  let uid = 0;
  let gid: number | undefined;
  let name: string | undefined;
  if (sc.runAsUser !== undefined) {
    uid = sc.runAsUser;
    const e = passwd.find((p) => p.uid === uid);
    name = e?.name;
    gid = e?.gid;
  } else if (/^\d+$/.test(userPart)) {
    uid = Number(userPart);
    const e = passwd.find((p) => p.uid === uid);
    name = e?.name;
    gid = e?.gid;
  } else if (userPart) {
    const e = passwd.find((p) => p.name === userPart);
    if (!e)
      throw new SpecError(`unable to find user ${userPart}: no matching entries in passwd file`);
    uid = e.uid;
    gid = e.gid;
    name = e.name;
  }
  if (groupPart && sc.runAsGroup === undefined) {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const g = groups.find((x) => x.name === groupPart);
      if (!g)
        throw new SpecError(`unable to find group ${groupPart}: no matching entries in group file`);
      gid = g.gid;
    }
  }
  if (sc.runAsGroup !== undefined) gid = sc.runAsGroup;
  const finalGid = gid ?? 0;
  const extra = new Set<number>();
  if (name) for (const g of groups) if (g.members.includes(name)) extra.add(g.gid);
  for (const g of sc.supplementalGroups ?? []) extra.add(g);
  if (sc.fsGroup !== undefined) extra.add(sc.fsGroup);
  extra.delete(finalGid);
  return extra.size > 0
    ? { uid, gid: finalGid, additionalGids: [...extra].sort((a, b) => a - b) }
    : { uid, gid: finalGid };
}

const capName = (c: string) =>
  c.toUpperCase().startsWith("CAP_") ? c.toUpperCase() : `CAP_${c.toUpperCase()}`;

/** The capability set: default, minus `drop`, plus `add` (`ALL` in either), limited to `host`. */
export function capabilities(
  caps: { add?: string[]; drop?: string[] } | undefined,
  privileged: boolean,
  host: string[] = ALL_CAPABILITIES,
): string[] {
  const allowed = new Set(host);
  if (privileged) return ALL_CAPABILITIES.filter((c) => allowed.has(c));
  let set = new Set(DEFAULT_CAPABILITIES);
  const drop = (caps?.drop ?? []).map(capName);
  const add = (caps?.add ?? []).map(capName);
  if (drop.includes("CAP_ALL")) set = new Set();
  for (const d of drop) set.delete(d);
  if (add.includes("CAP_ALL")) set = new Set(ALL_CAPABILITIES);
  for (const a of add) if (a !== "CAP_ALL") set.add(a);
  return ALL_CAPABILITIES.filter((c) => set.has(c) && allowed.has(c));
}

export interface OciMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

export interface SpecInput {
  pod: Pod;
  container: Container;
  image: ImageConfig;
  /** The argv after `$(VAR)` expansion (processArgs, then the caller's expansion). */
  args: string[];
  /** The container's environment from the pod spec (env.ts), merged over the image's. */
  env: Record<string, string>;
  /** The container's writable root (an overlay or a copy of the image's rootfs). */
  rootfs: string;
  user: ProcessUser;
  hostname: string;
  /** The pod's /etc files: hosts, hostname, resolv.conf (host paths). */
  etc: { hosts: string; hostname: string; resolvConf: string };
  /** Volume mounts as host path → mountPath (resolved by the caller, subPath included). */
  volumes: Array<{ source: string; destination: string; readOnly: boolean }>;
  /** The pod's network namespace; undefined: the host's (hostNetwork). */
  netnsPath?: string | undefined;
  /** The cgroup path under which the container's cgroup is made; undefined: no cgroup settings. */
  cgroupsPath?: string | undefined;
  /** The capabilities the host's bounding set holds (privileged gets these). */
  hostCapabilities?: string[] | undefined;
  /** The process runs on a pseudo-terminal the runtime makes (`tty: true` with `stdin: true`). */
  terminal?: boolean;
  /**
   * A PID namespace to join (an ephemeral container's `targetContainerName`: the target's, as
   * containerd joins it); undefined: a new one (or the host's with hostPID).
   */
  pidNamespacePath?: string | undefined;
}

/** CPU limit → quota over a 100 ms period; request → shares (kube's MilliCPUToShares). */
export function resources(c: Container): Record<string, unknown> | undefined {
  const limits = c.resources?.limits ?? {};
  const requests = c.resources?.requests ?? {};
  const out: Record<string, unknown> = {};
  const memory = limits.memory !== undefined ? Math.floor(parseQuantity(String(limits.memory))) : 0;
  if (memory > 0) out.memory = { limit: memory };
  const cpu: Record<string, number> = {};
  const cpuLimit = limits.cpu !== undefined ? parseQuantity(String(limits.cpu)) : 0;
  if (cpuLimit > 0) {
    cpu.period = 100_000;
    cpu.quota = Math.max(1000, Math.round(cpuLimit * 100_000));
  }
  const cpuRequest = requests.cpu ?? limits.cpu;
  if (cpuRequest !== undefined)
    cpu.shares = Math.max(2, Math.round(parseQuantity(String(cpuRequest)) * 1024));
  if (Object.keys(cpu).length > 0) out.cpu = cpu;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The runtime-spec document for one container (see the module header). */
export function ociSpec(input: SpecInput): Record<string, unknown> {
  const { container: c, pod } = input;
  const sc = c.securityContext ?? {};
  const privileged = sc.privileged === true;
  const caps = capabilities(sc.capabilities, privileged, input.hostCapabilities);
  const mounts: OciMount[] = [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    {
      destination: "/dev",
      type: "tmpfs",
      source: "tmpfs",
      options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
    },
    {
      destination: "/dev/pts",
      type: "devpts",
      source: "devpts",
      options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
    },
    {
      destination: "/dev/shm",
      type: "tmpfs",
      source: "shm",
      options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
    },
    {
      destination: "/dev/mqueue",
      type: "mqueue",
      source: "mqueue",
      options: ["nosuid", "noexec", "nodev"],
    },
    {
      destination: "/sys",
      type: "sysfs",
      source: "sysfs",
      options: ["nosuid", "noexec", "nodev", privileged ? "rw" : "ro"],
    },
    {
      destination: "/etc/hosts",
      type: "bind",
      source: input.etc.hosts,
      options: ["rbind", "rprivate", "rw"],
    },
    {
      destination: "/etc/hostname",
      type: "bind",
      source: input.etc.hostname,
      options: ["rbind", "rprivate", "rw"],
    },
    {
      destination: "/etc/resolv.conf",
      type: "bind",
      source: input.etc.resolvConf,
      options: ["rbind", "rprivate", "rw"],
    },
    ...input.volumes.map((v) => ({
      destination: v.destination,
      type: "bind",
      source: v.source,
      options: ["rbind", "rprivate", v.readOnly ? "ro" : "rw"],
    })),
  ];
  const namespaces: Array<{ type: string; path?: string }> = [
    { type: "mount" },
    { type: "uts" },
    ...(input.pidNamespacePath
      ? [{ type: "pid", path: input.pidNamespacePath }]
      : pod.spec?.hostPID
        ? []
        : [{ type: "pid" }]),
    ...(pod.spec?.hostIPC ? [] : [{ type: "ipc" }]),
    ...(input.netnsPath ? [{ type: "network", path: input.netnsPath }] : []),
  ];
  const linux: Record<string, unknown> = { namespaces };
  if (!privileged) {
    linux.maskedPaths = MASKED_PATHS;
    linux.readonlyPaths = READONLY_PATHS;
  }
  if (input.cgroupsPath) {
    linux.cgroupsPath = input.cgroupsPath;
    const r = resources(c);
    if (r) linux.resources = r;
  }
  const process: Record<string, unknown> = {
    terminal: input.terminal === true,
    user: input.user,
    args: input.args,
    env: mergeEnv(input.image.env, input.env, input.hostname),
    cwd: c.workingDir || input.image.workingDir || "/",
    capabilities: {
      bounding: caps,
      effective: caps,
      permitted: caps,
    },
    noNewPrivileges: !privileged && sc.allowPrivilegeEscalation === false,
  };
  return {
    ociVersion: "1.0.2",
    process,
    root: { path: input.rootfs, readonly: sc.readOnlyRootFilesystem === true },
    hostname: input.hostname,
    mounts,
    linux,
  };
}
