/**
 * Where a container runs as a plain host process (the `process` runtime without the pod
 * sandbox: no root), its volumes are not mounted at their mountPath but stay in their directory
 * under the agent's data dir. So that a manifest written for a real cluster still runs, an
 * argument or `workingDir` naming a path under one of the container's volumeMounts
 * (`/app/server.js` with a ConfigMap at `/app`) is given as the same path in the volume's
 * directory. Only whole arguments that are the mountPath or start with it and `/` are changed;
 * the deepest mountPath wins, and a mount's `subPath` is honoured.
 *
 * @module
 */
import { join, posix } from "node:path";
import type { VolumeMount } from "kubernetes-types/core/v1.js";

/** `path` in the host's terms, given the container's mounts and each volume's directory. */
export function hostPath(
  path: string,
  mounts: readonly VolumeMount[],
  volumes: ReadonlyMap<string, string>,
): string {
  if (!path.startsWith("/")) return path;
  let best: { mount: VolumeMount; at: string } | undefined;
  for (const mount of mounts) {
    const at = posix.normalize(mount.mountPath).replace(/\/+$/, "") || "/";
    const under = path === at || path.startsWith(at === "/" ? "/" : `${at}/`);
    if (under && volumes.has(mount.name) && (!best || at.length > best.at.length))
      best = { mount, at };
  }
  if (!best) return path;
  const dir = volumes.get(best.mount.name) ?? "";
  const rest = path.slice(best.at.length).replace(/^\//, "");
  return join(dir, best.mount.subPath ?? "", rest);
}
