/**
 * The simulated runtime (like kwok): a container is a promise that "exits" when signalled. No
 * process, no log output; used for scale and controller tests. A container that `completes` (a
 * regular init container, or any container of a Job's pod) exits 0 at once, as kwok's init
 * containers and its pod-complete stage do, so the pod goes on or succeeds.
 *
 * @module
 */
import type { ContainerExit, ContainerHandle } from "./process_container.ts";
import { newContainerID } from "./process_container.ts";

export function startSimulated(options: { completes?: boolean } = {}): ContainerHandle {
  let finish: (e: ContainerExit) => void = () => {};
  const exited = new Promise<ContainerExit>((resolve) => {
    finish = resolve;
  });
  if (options.completes) setImmediate(() => finish({ exitCode: 0 }));
  return {
    containerID: newContainerID(),
    pid: undefined,
    exited,
    kill(signal) {
      finish({ exitCode: signal === "SIGKILL" ? 137 : 143, signal });
    },
  };
}
