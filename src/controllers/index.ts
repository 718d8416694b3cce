/**
 * The controller manager: starts every controller over one client and one set of shared
 * informers, and stops them in reverse order. Each controller lives in its own folder and is
 * listed here once; controllers never import each other.
 *
 * @module
 */
import type { ControllerContext, StartedController } from "./_context.ts";
import { startCronJobController } from "./cronjob/index.ts";
import { startDaemonSetController } from "./daemonset/index.ts";
import { startDeploymentController } from "./deployment/index.ts";
import { startDisruptionController } from "./disruption/index.ts";
import { startEndpointsController } from "./endpoints/index.ts";
import { startEndpointSliceController } from "./endpointslice/index.ts";
import { startGarbageCollector } from "./garbagecollector/index.ts";
import { startHpaController } from "./hpa/index.ts";
import { startJobController } from "./job/index.ts";
import { startNamespaceController } from "./namespace/index.ts";
import { startNodeLifecycleController } from "./nodelifecycle/index.ts";
import { startReplicaSetController, startReplicationController } from "./replicaset/index.ts";
import { startResourceQuotaController } from "./resourcequota/index.ts";
import { startScheduler } from "./scheduler/index.ts";
import {
  startRootCaPublisher,
  startServiceAccountController,
  startTokenController,
} from "./serviceaccount/index.ts";
import { startStatefulSetController } from "./statefulset/index.ts";
import { startTtlAfterFinishedController } from "./ttlafterfinished/index.ts";
import { startVolumeController } from "./volume/index.ts";

export type { ControllerContext, StartedController } from "./_context.ts";
export { defaultStorageClass } from "./volume/_plan.ts";

export interface ControllerManager {
  controllers: StartedController[];
  /** Stops every controller, in reverse order; calling it again waits for the same stop. */
  stop(): Promise<void>;
}

/** The controllers a cluster runs, in start order. */
export const CONTROLLERS: ReadonlyArray<{
  name: string;
  start: (ctx: ControllerContext) => StartedController;
}> = [
  { name: "endpointslice", start: (ctx) => startEndpointSliceController(ctx) },
  { name: "endpoints", start: (ctx) => startEndpointsController(ctx) },
  { name: "garbagecollector", start: (ctx) => startGarbageCollector(ctx) },
  { name: "namespace", start: (ctx) => startNamespaceController(ctx) },
  { name: "scheduler", start: (ctx) => startScheduler(ctx) },
  { name: "replicaset", start: (ctx) => startReplicaSetController(ctx) },
  { name: "deployment", start: (ctx) => startDeploymentController(ctx) },
  { name: "statefulset", start: (ctx) => startStatefulSetController(ctx) },
  { name: "job", start: (ctx) => startJobController(ctx) },
  { name: "ttlafterfinished", start: (ctx) => startTtlAfterFinishedController(ctx) },
  { name: "cronjob", start: (ctx) => startCronJobController(ctx) },
  { name: "volume", start: (ctx) => startVolumeController(ctx) },
  { name: "daemonset", start: (ctx) => startDaemonSetController(ctx) },
  { name: "replicationcontroller", start: (ctx) => startReplicationController(ctx) },
  { name: "serviceaccount", start: (ctx) => startServiceAccountController(ctx) },
  { name: "root-ca-cert-publisher", start: (ctx) => startRootCaPublisher(ctx) },
  { name: "serviceaccount-token", start: (ctx) => startTokenController(ctx) },
  { name: "disruption", start: (ctx) => startDisruptionController(ctx) },
  { name: "resourcequota", start: (ctx) => startResourceQuotaController(ctx) },
  { name: "horizontalpodautoscaling", start: (ctx) => startHpaController(ctx) },
  { name: "nodelifecycle", start: (ctx) => startNodeLifecycleController(ctx) },
];

export function startControllers(
  ctx: ControllerContext,
  only?: readonly string[],
): ControllerManager {
  const controllers = CONTROLLERS.filter((c) => !only || only.includes(c.name)).map((c) =>
    c.start(ctx.as ? { ...ctx, ...ctx.as(c.name) } : ctx),
  );
  let stopping: Promise<void> | undefined;
  return {
    controllers,
    stop() {
      stopping ??= (async () => {
        for (const c of [...controllers].reverse()) await c.stop();
      })();
      return stopping;
    },
  };
}
