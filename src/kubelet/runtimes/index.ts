/**
 * Runtimes: how a pod's containers run, behind one interface, so the pod worker never asks which
 * runtime it has. Three siblings: `oci` (containers from their images under crun or runc),
 * `process` (the host's programs are the image) and `simulated` (no process at all, as kwok's,
 * for scale). What differs between them is said here as properties, not as name checks:
 * whether the containers are programs (a pod directory, logs, volumes, probes and hooks),
 * whether an image step runs before each start, what environment a container's own starts from,
 * what a container must have to be created, and the start itself.
 *
 * A runtime keeps no state of a pod: the worker owns the containers' states and hands `start`
 * what one start needs. `start` rejects with an `EnvError` for a configuration error (the
 * container waits, `CreateContainerConfigError` or the error's reason) and with anything else
 * for a failed start (`StartError`, exit code 128); it resolves `undefined` when the pod began
 * stopping meanwhile (nothing was started, nothing is left open).
 *
 * Each sibling's adapter (`oci.ts`, `process.ts`, `simulated.ts`) sits beside what it is made
 * of: `oci_*.ts` (detection, spec, crun/runc, rootless), `process_container.ts` (host process
 * groups, also the handle and `StartError` every runtime returns) and `simulated_container.ts`.
 *
 * @module
 */
import type { Container, Pod } from "kubernetes-types/core/v1.js";
import type { PreparedImage } from "../../images/index.ts";
import type { ContainerLog } from "../logfile.ts";
import { ociRuntime } from "./oci.ts";
import type { OciDeps } from "./oci_container.ts";
import { processRuntime } from "./process.ts";
import type { ContainerHandle } from "./process_container.ts";
import { simulatedRuntime } from "./simulated.ts";

export type { ImageSource } from "./oci_container.ts";
export { describeSupport, detectOci, type OciSupport } from "./oci_detect.ts";
export { OciRuntime } from "./oci_runtime.ts";
export { NO_COMMAND_MESSAGE, NO_SANDBOX_MESSAGE } from "./process.ts";
export {
  type ContainerExit,
  type ContainerHandle,
  pipeCri,
  StartError,
  shellJoin,
  which,
  withTty,
} from "./process_container.ts";

export type RuntimeName = "process" | "simulated" | "oci";

/** What one start of one container needs from the pod worker. */
export interface ContainerStart {
  pod: Pod;
  container: Container;
  /** A regular init container (it runs to completion), not a sidecar or an app container. */
  runsToCompletion: boolean;
  /** The container's environment (empty when the runtime runs no programs). */
  env: Record<string, string>;
  /** Volume name → its directory on the host. */
  volumes: Map<string, string>;
  podDir: string;
  podIP: string;
  /** The pod's own network namespace, when it has one. */
  netnsPath: string | undefined;
  /** The image the pull step prepared (runtimes that pull images). */
  image: PreparedImage | undefined;
  /** A PID namespace to join (an ephemeral container's target's). */
  pidNamespacePath: string | undefined;
  /**
   * The prefix a host process starts under (the pod's network namespace and sandbox, or an
   * ephemeral container's target's namespaces); undefined: a plain host process. Asked once.
   */
  wrap(): string[] | undefined;
  /** Opens the log of this run; a failure to create it is a `StartError`. */
  openLog(): Promise<ContainerLog>;
  /** The pod began stopping. */
  stopping(): boolean;
  /** Waits `ms`, or less when the pod begins stopping. */
  sleep(ms: number): Promise<void>;
  /** A mount the runtime had to leave out (a Warning `FailedMount`). */
  onSkip(message: string): void;
}

export interface Runtime {
  readonly name: RuntimeName;
  /**
   * The containers are programs: the pod gets a directory (logs, volumes), an environment is
   * computed, hooks and probes run. False: containers are only states (a started one is at once
   * started and ready).
   */
  readonly runsPrograms: boolean;
  /** The image step (imagepull.ts) runs before each start. */
  readonly pullsImages: boolean;
  /** What a container's environment starts from instead of the host's PATH and HOME, if not it. */
  readonly envBase: Record<string, string> | undefined;
  /** What a pod of this runtime lacks without the pod sandbox (a Warning `NoSandbox`), if anything. */
  readonly withoutSandbox: string | undefined;
  /** Why the container cannot be created here at all (a configuration error), if so. */
  refuse(container: Container): string | undefined;
  start(start: ContainerStart): Promise<ContainerHandle | undefined>;
}

/** What the runtimes are made from: the node's settings that concern them. */
export interface RuntimeDeps {
  /** Where a host program without `workingDir` starts (process). */
  workingDir: string;
  /** How long a simulated container takes to start. */
  simulatedDelayMs: number;
  /** The image runtime's parts (oci). */
  oci?: OciDeps | undefined;
  /**
   * Why a pod that named no runtime runs in `process` (runtime `auto` where images cannot run):
   * added to the message of a container without a command.
   */
  imagesNotRun?: string | undefined;
}

export function runtimeFor(name: RuntimeName, deps: RuntimeDeps): Runtime {
  switch (name) {
    case "process":
      return processRuntime(deps);
    case "simulated":
      return simulatedRuntime(deps);
    case "oci":
      return ociRuntime(deps);
  }
}
