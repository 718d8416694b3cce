/**
 * One start of a container under the `oci` runtime, for the pod worker: its image prepared by
 * the image source, its argv from kube's Entrypoint/Cmd table with `$(VAR)` expanded in
 * `command`/`args` only, the pod's /etc files written under the pod directory, its volume mounts
 * resolved (subPath included; a mount naming no volume is skipped with a FailedMount warning),
 * then the runtime's start.
 *
 * The image is the one the kubelet's pull step prepared from the image store, or (tests, no
 * store) the image source's.
 *
 * Errors: no image at all, or the image cannot be prepared → `EnvError` (the container waits,
 * reason `ErrImagePull` / `CreateContainerConfigError`, one Warning); a container that cannot run
 * as configured (runAsNonRoot as root, an unknown user) → `EnvError`; no program at all →
 * `StartError`.
 *
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Container, Pod } from "kubernetes-types/core/v1.js";
import { EnvError, podHostname } from "../env.ts";
import { expandVars } from "../expand.ts";
import type { ContainerLog } from "../logfile.ts";
import { hostsFile, resolvConf } from "../sandbox/index.ts";
import { OciConfigError, type OciRuntime } from "./oci_runtime.ts";
import { type PreparedImage, processArgs, SpecError } from "./oci_spec.ts";
import { type ContainerHandle, StartError } from "./process_container.ts";

/** Where images come from: the image store (pull/load, unpack once), or a test's own roots. */
export interface ImageSource {
  /** The image of `ref`, unpacked; rejects with a message the user can act on. */
  prepare(ref: string, pod: Pod): Promise<PreparedImage>;
}

export interface OciDeps {
  runtime?: OciRuntime | undefined;
  /** Why image pods cannot run here (one sentence naming what to install); set: nothing starts. */
  unavailable?: string | undefined;
  images?: ImageSource | undefined;
  clusterDns: string;
  clusterDomain: string;
}

export interface OciContainerStart {
  pod: Pod;
  container: Container;
  env: Record<string, string>;
  log: ContainerLog;
  volumes: Map<string, string>;
  podDir: string;
  podIP: string;
  netnsPath?: string | undefined;
  /** The program runs on a pty (`tty` and `stdin`, and `script` is here). */
  tty?: boolean;
  /** A PID namespace to join (an ephemeral container's target's). */
  pidNamespacePath?: string | undefined;
  /** The image the kubelet's pull step prepared (imagepull.ts); absent: the image source's. */
  image?: PreparedImage | undefined;
  onSkip(message: string): void;
}

export const NO_IMAGE_SOURCE_MESSAGE =
  "this node has no image store yet: images cannot be pulled or loaded";

export async function startOciContainer(
  deps: OciDeps,
  o: OciContainerStart,
): Promise<ContainerHandle> {
  const runtime = deps.runtime;
  if (!runtime) throw new EnvError(deps.unavailable ?? "the oci runtime is not available");
  const ref = o.container.image ?? "";
  let image: PreparedImage;
  if (o.image) image = o.image;
  else {
    if (!deps.images) throw new EnvError(NO_IMAGE_SOURCE_MESSAGE, "ErrImagePull");
    try {
      image = await deps.images.prepare(ref, o.pod);
    } catch (e) {
      throw new EnvError(e instanceof Error ? e.message : String(e), "ErrImagePull");
    }
  }
  const lookup = (n: string) => o.env[n];
  const expand = (list: string[] | undefined) => list?.map((a) => expandVars(a, lookup));
  const command = expand(o.container.command);
  const args = expand(o.container.args);
  const argv = processArgs(image.config, {
    ...(command ? { command } : {}),
    ...(args ? { args } : {}),
  });
  if (argv.length === 0) {
    throw new StartError("no command specified: the image has no Entrypoint or Cmd");
  }
  const hostname = podHostname(o.pod);
  const etcDir = join(o.podDir, "etc");
  mkdirSync(etcDir, { recursive: true });
  const etc = {
    hosts: join(etcDir, "hosts"),
    hostname: join(etcDir, "hostname"),
    resolvConf: join(etcDir, "resolv.conf"),
  };
  const ns = o.pod.metadata?.namespace ?? "default";
  writeFileSync(etc.hosts, hostsFile(o.pod, o.podIP, deps.clusterDomain));
  writeFileSync(etc.hostname, `${hostname}\n`);
  writeFileSync(etc.resolvConf, resolvConf(ns, deps.clusterDomain, deps.clusterDns));
  const volumes: Array<{ source: string; destination: string; readOnly: boolean }> = [];
  for (const m of o.container.volumeMounts ?? []) {
    const source = o.volumes.get(m.name);
    if (!source) {
      o.onSkip(
        `volume "${m.name}" not mounted at ${m.mountPath}: the pod has no such volume ready`,
      );
      continue;
    }
    const sub = m.subPath ? expandVars(m.subPath, lookup) : "";
    if (sub.split("/").includes("..")) {
      throw new EnvError(
        `failed to prepare subPath for volumeMount "${m.name}" of container "${o.container.name}"`,
      );
    }
    const from = sub ? join(source, sub) : source;
    if (sub) mkdirSync(from, { recursive: true });
    volumes.push({ source: from, destination: m.mountPath, readOnly: m.readOnly === true });
  }
  try {
    const handle = runtime.start({
      pod: o.pod,
      container: o.container,
      image,
      args: argv,
      env: o.env,
      log: o.log,
      hostname,
      etc,
      volumes,
      netnsPath: o.netnsPath,
      ...(o.container.stdin ? { stdin: true } : {}),
      ...(o.tty ? { tty: true } : {}),
      ...(o.pidNamespacePath ? { pidNamespacePath: o.pidNamespacePath } : {}),
    });
    await runtime.created(handle.id, handle.exited);
    return withGetters(handle, handle.enter);
  } catch (e) {
    if (e instanceof OciConfigError || e instanceof SpecError) throw new EnvError(e.message);
    throw e;
  }
}

/** The handle with its lazy `pid` kept as a getter (a spread would read it once, too early). */
function withGetters(h: ContainerHandle, enter: (tty: boolean) => string[]): ContainerHandle {
  return {
    enter,
    containerID: h.containerID,
    get pid() {
      return h.pid;
    },
    exited: h.exited,
    kill: (s) => h.kill(s),
    ...(h.stdin ? { stdin: h.stdin } : {}),
  };
}
