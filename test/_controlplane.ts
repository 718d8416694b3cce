/**
 * A control plane for end-to-end tests: a real API server (HTTPS, for kubectl) plus chosen
 * controllers running over the in-process client and shared informers, as `loopkube up` runs
 * them. `fakeNode` optionally plays a node agent: it binds pending pods, gives them an IP and
 * marks them Running and Ready (or not, per `ready(pod)`), and finishes graceful deletions.
 *
 * @module
 */

import type { ApiVerbs } from "../src/api/verbs.ts";
import { createInProcessClient } from "../src/apiserver/index.ts";
import { createInformerFactory, type InformerFactory } from "../src/client/factory.ts";
import {
  controllerIdentities,
  ensureDefaultStorageClass,
  KUBE_CONTROLLER_MANAGER,
} from "../src/cluster/identities.ts";
import { type ControllerManager, startControllers } from "../src/controllers/index.ts";
import { startTestApiServer, type TestApiServer } from "./_apiserver.ts";
import { type FakeNode, startFakeNode } from "./_fakenode.ts";

export interface TestControlPlane {
  api: TestApiServer;
  client: ApiVerbs;
  informers: InformerFactory;
  controllers: ControllerManager;
  node: FakeNode | undefined;
  stop(): Promise<void>;
}

export async function startTestControlPlane(
  options: {
    controllers?: readonly string[];
    fakeNode?: boolean | { ready?: (pod: import("kubernetes-types/core/v1.js").Pod) => boolean };
  } = {},
): Promise<TestControlPlane> {
  const api = await startTestApiServer();
  const { registry, authorizeCall } = api.server;
  const client = createInProcessClient(registry);
  // As in the cluster: informers cache the store's own (here frozen) objects, read as
  // kube-controller-manager, and each controller acts under its own identity.
  const informers = createInformerFactory(
    createInProcessClient(registry, {
      shareReads: true,
      identity: { user: KUBE_CONTROLLER_MANAGER, authorize: authorizeCall },
    }),
  );
  await ensureDefaultStorageClass(client);
  const controllers = startControllers(
    {
      client,
      informers,
      now: () => new Date(),
      as: controllerIdentities(registry, authorizeCall, informers),
      ...(process.env.LOOPKUBE_TEST_CONTROLLER_ERRORS
        ? {
            onError: (e: unknown, c: { controller: string; key: string }) =>
              console.error(`${c.controller} ${c.key}: ${String(e)}`),
          }
        : {}),
    },
    options.controllers,
  );
  const node = options.fakeNode
    ? startFakeNode(client, informers, typeof options.fakeNode === "object" ? options.fakeNode : {})
    : undefined;
  informers.start();
  await informers.waitForSync();
  return {
    api,
    client,
    informers,
    controllers,
    node,
    stop: async () => {
      await node?.stop();
      await controllers.stop();
      await informers.stop();
      await api.stop();
    },
  };
}
