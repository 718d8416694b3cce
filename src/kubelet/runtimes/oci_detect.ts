/**
 * What the `oci` runtime can use on this machine, found once at start: an OCI runtime binary
 * (`crun`, else `runc`), root, util-linux (`unshare`, `setpriv`), the cgroup layout, and whether
 * overlayfs mounts (else each container's writable root is a copy of the image's).
 *
 * Researched facts it encodes: crun 1.8 refuses to run on a cgroup v1 host that also mounts
 * cgroup2 (hybrid: "cgroups in hybrid mode not supported, drop all controllers from cgroupv2")
 * until that v2 mount is hidden in a private mount namespace, which every container start does
 * anyway (see oci_runtime.ts); runc runs as is. Without root: crun in a user namespace
 * (oci_rootless.ts), where the kernel lets an unprivileged user make one (tried: `unshare
 * --map-root-user --mount`), no cgroups (no resource limits), overlayfs tried inside such a
 * namespace (kernel 5.11 or later), else copies; runc's rootless mode is not used.
 *
 * @module
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { which } from "./process_container.ts";

export interface OciSupport {
  /** The runtime binary's path; undefined when the runtime cannot run here (see `reason`). */
  binary?: string | undefined;
  /** `crun` or `runc`. */
  kind?: "crun" | "runc" | undefined;
  version?: string | undefined;
  /** Why image pods cannot run here: one sentence naming what to install or change. */
  reason?: string | undefined;
  /** The cgroup2 mount to hide from crun on a hybrid host (e.g. /sys/fs/cgroup/unified). */
  hideCgroup2?: string | undefined;
  /** `v1`, `v2`, `hybrid` or `none`. */
  cgroups: "v1" | "v2" | "hybrid" | "none";
  /** Whether writable roots are overlayfs mounts (else copies). */
  overlay: boolean;
  setpriv?: string | undefined;
  /** crun runs in a user namespace as its uid 0 (the user running loopkube), without cgroups. */
  rootless?: boolean | undefined;
}

/** The cgroup layout from /proc/self/mountinfo text. */
export function cgroupLayout(mountinfo: string): {
  cgroups: OciSupport["cgroups"];
  v2At?: string;
} {
  let v1 = false;
  let v2At: string | undefined;
  for (const line of mountinfo.split("\n")) {
    const [left = "", right = ""] = line.split(" - ");
    const type = right.split(" ")[0];
    const at = left.split(" ")[4];
    if (type === "cgroup") v1 = true;
    if (type === "cgroup2" && at) v2At = at;
  }
  if (v1 && v2At) return { cgroups: "hybrid", v2At };
  if (v2At) return { cgroups: "v2", v2At };
  return { cgroups: v1 ? "v1" : "none" };
}

const run = (bin: string, args: string[]) =>
  new Promise<{ ok: boolean; out: string }>((resolve) => {
    execFile(bin, args, { timeout: 10_000 }, (err, stdout, stderr) =>
      resolve({ ok: !err, out: `${stdout}${stderr}` }),
    );
  });

/** A one-line summary for `/readyz?verbose` and logs. */
export function describeSupport(s: OciSupport): string {
  if (!s.binary) return `image pods cannot run: ${s.reason}`;
  const cgroups = s.rootless
    ? "rootless (a user namespace, its uid 0 the user running loopkube), no cgroups: no resource limits"
    : `cgroups ${s.cgroups}${s.hideCgroup2 ? " (cgroup2 hidden from crun)" : ""}`;
  return `${`${s.kind} ${s.version ?? ""}`.trim()}, ${cgroups}, writable roots by ${s.overlay ? "overlayfs" : "copy"}`;
}

/**
 * Looks at the machine (see the module header). `scratch`: a directory where an overlay mount is
 * tried (in a private mount namespace, so nothing outlives the check).
 */
export async function detectOci(
  scratch: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<OciSupport> {
  const path = env.PATH ?? "";
  let mountinfo = "";
  try {
    mountinfo = readFileSync("/proc/self/mountinfo", "utf8");
  } catch {
    // Not Linux.
  }
  const layout = cgroupLayout(mountinfo);
  const base: OciSupport = { cgroups: layout.cgroups, overlay: false };
  if (process.platform !== "linux") {
    return { ...base, reason: "the oci runtime needs Linux" };
  }
  const rootless = process.getuid?.() !== 0;
  const unshare = which("unshare", path);
  if (!unshare) return { ...base, reason: "install util-linux (unshare) to run image pods" };
  const crun = which("crun", path);
  const runc = which("runc", path);
  const binary = crun ?? runc;
  if (!binary) {
    return {
      ...base,
      reason: "no OCI runtime found: install crun (apt-get install crun) or runc to run image pods",
    };
  }
  const kind = crun ? "crun" : "runc";
  if (rootless) {
    if (!crun) {
      return {
        ...base,
        reason:
          "without root, image pods need crun (apt-get install crun): runc's rootless mode is not supported",
      };
    }
    const trial = await run(unshare, ["--map-root-user", "--mount", "true"]);
    if (!trial.ok) {
      return {
        ...base,
        reason: `without root, image pods need a user namespace, which this kernel does not let this user make (${trial.out.trim() || "unshare failed"}): run loopkube as root or allow unprivileged user namespaces`,
      };
    }
  }
  const v = await run(binary, ["--version"]);
  const version = /version\s+(\S+)/.exec(v.out)?.[1];
  const hideCgroup2 = kind === "crun" && layout.cgroups === "hybrid" ? layout.v2At : undefined;
  // overlayfs, tried once in a throw-away mount namespace.
  let overlay = false;
  try {
    mkdirSync(scratch, { recursive: true });
    const dir = mkdtempSync(join(scratch, "overlay-check-"));
    for (const d of ["lower", "upper", "work", "merged"]) mkdirSync(join(dir, d));
    const r = await run(unshare, [
      ...(rootless ? ["--map-root-user"] : []),
      "--mount",
      "--propagation",
      "private",
      "mount",
      "-t",
      "overlay",
      "overlay",
      "-o",
      `lowerdir=${dir}/lower,upperdir=${dir}/upper,workdir=${dir}/work`,
      `${dir}/merged`,
    ]);
    overlay = r.ok;
    rmSync(dir, { recursive: true, force: true });
  } catch {
    overlay = false;
  }
  return {
    ...base,
    binary,
    kind,
    version,
    hideCgroup2,
    overlay,
    setpriv: which("setpriv", path),
    ...(rootless ? { rootless: true } : {}),
  };
}
