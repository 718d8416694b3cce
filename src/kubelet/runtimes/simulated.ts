/**
 * The `simulated` runtime: no process, no log, no volume; a container is a state that ends when
 * killed (simulated_container.ts). A regular init container completes at once, and so does
 * every container of a Job's pod, as kwok's pod-complete stage does, so the pod goes on or
 * succeeds.
 *
 * @module
 */

import type { Runtime, RuntimeDeps } from "./index.ts";
import { startSimulated } from "./simulated_container.ts";

export function simulatedRuntime(deps: Pick<RuntimeDeps, "simulatedDelayMs">): Runtime {
  return {
    name: "simulated",
    runsPrograms: false,
    pullsImages: false,
    envBase: undefined,
    withoutSandbox: undefined,
    refuse: () => undefined,
    async start(s) {
      if (deps.simulatedDelayMs > 0) await s.sleep(deps.simulatedDelayMs);
      if (s.stopping()) return undefined;
      const ownedByJob = s.pod.metadata?.ownerReferences?.some(
        (r) => r.controller === true && r.kind === "Job" && r.apiVersion === "batch/v1",
      );
      return startSimulated({ completes: s.runsToCompletion || ownedByJob === true });
    },
  };
}
