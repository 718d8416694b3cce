/**
 * The simulated runtime (like kwok): a container is a promise that "exits" when signalled. No
 * process, no log output; used for scale and controller tests.
 *
 * @module
 */
import type { ContainerExit, ContainerHandle } from "./process.ts";
import { newContainerID } from "./process.ts";

export function startSimulated(): ContainerHandle {
  let finish: (e: ContainerExit) => void = () => {};
  const exited = new Promise<ContainerExit>((resolve) => {
    finish = resolve;
  });
  return {
    containerID: newContainerID(),
    pid: undefined,
    exited,
    kill(signal) {
      finish({ exitCode: signal === "SIGKILL" ? 137 : 143, signal });
    },
  };
}
