/**
 * The `oci` runtime: a container runs from its image's unpacked root under crun or runc
 * (oci_container.ts); the image step runs before each start, and the environment starts empty
 * (the image, not the host, gives PATH and HOME). Where it cannot run here, every container
 * waits with the reason naming what to install.
 *
 * @module
 */

import type { Runtime, RuntimeDeps } from "./index.ts";
import { startOciContainer } from "./oci_container.ts";
import { type ContainerHandle, withTty } from "./process_container.ts";

export function ociRuntime(deps: Pick<RuntimeDeps, "oci">): Runtime {
  return {
    name: "oci",
    runsPrograms: true,
    pullsImages: true,
    envBase: {},
    withoutSandbox: undefined,
    refuse: () => deps.oci?.unavailable,
    async start(s) {
      const oci = deps.oci;
      if (!oci) throw new Error("the oci runtime was not given its parts");
      const log = await s.openLog();
      if (s.stopping()) {
        await log.close();
        return undefined;
      }
      let handle: ContainerHandle;
      try {
        handle = await startOciContainer(oci, {
          pod: s.pod,
          container: s.container,
          env: s.env,
          log,
          volumes: s.volumes,
          podDir: s.podDir,
          podIP: s.podIP,
          netnsPath: s.netnsPath,
          image: s.image,
          ...(withTty(s.container) ? { tty: true } : {}),
          pidNamespacePath: s.pidNamespacePath,
          onSkip: s.onSkip,
        });
      } catch (e) {
        await log.close();
        throw e;
      }
      if (s.stopping()) {
        // The pod began stopping while the runtime created the container: nothing is left.
        handle.kill("SIGKILL");
        await handle.exited;
        return undefined;
      }
      return handle;
    },
  };
}
