/**
 * The `oci` runtime without root: what changes in a container's start and in its `config.json`.
 * Pure functions, no I/O.
 *
 * crun runs as uid 0 of a user namespace of ours, never as the plain user: the cluster's node
 * namespace helper's (podnet_rootless.ts; entered by `nsenter -U --preserve-credentials`), so
 * that the container may join its pod's network namespace, which that user namespace owns; or,
 * without rootless pod networks, one of its own per container (`unshare --map-root-user`). The
 * writable root (overlayfs, which an unprivileged user namespace may mount from kernel 5.11 on,
 * else a copy) is made there, in a private mount namespace, before crun starts. So the
 * `config.json` asks for no user namespace of its own: the container lives in crun's. Chosen
 * over a nested user namespace made by crun from `linux.uidMappings`: a pod network namespace
 * is owned by the helper's user namespace, and capabilities count only in the owner's, so a
 * nested container's root could neither bind a port below 1024 there nor mount its `/sys`.
 *
 * The mapping is a single one, uid 0 and gid 0 to the user who runs loopkube (no `newuidmap`,
 * `newgidmap` or /etc/subuid ranges are used). What that means for a container:
 * - it runs as uid 0 and gid 0 only: an image `User` or a `runAsUser`/`runAsGroup` other than 0
 *   cannot be set (the id is not mapped) and is refused (CreateContainerConfigError) with a
 *   sentence saying so; additional gids (`supplementalGroups`, `fsGroup`, the image's groups)
 *   are dropped, `setgroups` being denied in such a user namespace;
 * - every file of an image is owned by the user on disk (the image store unpacks as the user),
 *   so inside it is owned by root whatever owner the image gave it (e.g. nginx's uid 101);
 * - no cgroups: crun runs with `--cgroup-manager=disabled`, no `cgroupsPath` and no
 *   `resources`, so CPU and memory limits are not enforced;
 * - mounts a user namespace may not make are bind mounts of the host's instead: `/sys` when the
 *   container shares the host's network (hostNetwork; sysfs needs a network namespace of the
 *   user namespace), `/proc` with hostPID, `/dev/mqueue` with hostIPC; devpts without `gid=5`
 *   (gid 5 is not mapped). Device nodes are bind-mounted by crun itself.
 *
 * @module
 */
import type { OciMount, ProcessUser } from "./oci_spec.ts";
import { SpecError } from "./oci_spec.ts";

/** The runtime's user namespace: the node helper's (by pid), or a new one per container. */
export type RootlessUserns = { pid: number } | "own";

/**
 * The command prefix that puts a container's start into its user namespace with a private mount
 * namespace (where the writable root is mounted).
 */
export function usernsPrefix(userns: RootlessUserns): string[] {
  if (userns === "own") {
    return ["unshare", "--map-root-user", "--mount", "--propagation", "private", "--"];
  }
  return [
    "nsenter",
    "-t",
    String(userns.pid),
    "-U",
    "--preserve-credentials",
    "--",
    "unshare",
    "--mount",
    "--propagation",
    "private",
    "--",
  ];
}

/**
 * The process's user in a single-mapping user namespace: uid and gid 0 only, no additional gids.
 * Another uid or gid is a SpecError naming why.
 */
export function rootlessUser(user: ProcessUser): ProcessUser {
  const why = (what: string, id: number) =>
    new SpecError(
      `the container would run as ${what} ${id}, but without root loopkube maps only uid and gid 0 (to the user running it) into the container's user namespace: run the container as user 0 or loopkube as root`,
    );
  if (user.uid !== 0) throw why("user", user.uid);
  if (user.gid !== 0) throw why("group", user.gid);
  return { uid: 0, gid: 0 };
}

/** What the pod shares with the host, which decides the mounts a user namespace cannot make. */
export interface HostShares {
  /** The container joins a network namespace of the runtime's user namespace (a pod's). */
  ownNetwork: boolean;
  hostPID: boolean;
  hostIPC: boolean;
}

/**
 * The `config.json` of a container run without root, from the one ociSpec made (see the module
 * header): no cgroups or resources, mounts a user namespace may make, no user namespace entry.
 */
export function rootlessSpec(
  spec: Record<string, unknown>,
  shares: HostShares,
): Record<string, unknown> {
  const bind = (destination: string, readOnly: boolean): OciMount => ({
    destination,
    type: "bind",
    source: destination,
    options: ["rbind", "nosuid", "noexec", "nodev", readOnly ? "ro" : "rw"],
  });
  const mounts = (spec.mounts as OciMount[]).map((m): OciMount => {
    if (m.type === "sysfs" && !shares.ownNetwork) return bind("/sys", true);
    if (m.type === "proc" && shares.hostPID) return bind("/proc", false);
    if (m.type === "mqueue" && shares.hostIPC) return bind("/dev/mqueue", false);
    if (m.type === "devpts") {
      return { ...m, options: (m.options ?? []).filter((o) => !o.startsWith("gid=")) };
    }
    return m;
  });
  const {
    cgroupsPath: _path,
    resources: _resources,
    ...linux
  } = spec.linux as Record<string, unknown>;
  const namespaces = (linux.namespaces as Array<{ type: string }>).filter(
    (n) => n.type !== "user" && n.type !== "cgroup",
  );
  return { ...spec, mounts, linux: { ...linux, namespaces } };
}
