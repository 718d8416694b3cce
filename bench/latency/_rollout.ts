/**
 * Deployment of N replicas (simulated runtime: a pod is Ready as soon as the node agent starts
 * it) → all N endpoints ready in the Service's EndpointSlices, timed from the create's response.
 * Also notes when the last pod turned Ready (pod watch), so the slice lag behind the pods shows.
 *
 * @module
 */
import type { Deployment } from "kubernetes-types/apps/v1.js";
import type { Pod } from "kubernetes-types/core/v1.js";
import { REFS } from "../../src/api/refs.ts";
import type { KubeObject } from "../../src/api/types.ts";
import type { ApiVerbs } from "../../src/api/verbs.ts";
import { createService, SliceWatch } from "./_fixtures.ts";

export interface RolloutTimes {
  replicas: number;
  /** create response → all N endpoints ready in slices. */
  allInSlicesMs: number;
  /** create response → the N-th pod observed Ready. */
  allPodsReadyMs: number;
  /** create response → first endpoint ready in a slice. */
  firstInSliceMs: number;
  /** create response → the N-th pod created, and bound to the node (pod watch). */
  allPodsCreatedMs: number;
  allPodsBoundMs: number;
}

export async function timeRollout(
  client: ApiVerbs,
  ns: string,
  opts: { replicas: number; timeoutMs: number },
): Promise<RolloutTimes> {
  const name = `roll-${opts.replicas}`;
  const labels = { app: name };
  await createService(client, ns, { name, selector: labels });
  const slices = await SliceWatch.start(client, ns, name);

  const readyPods = new Set<string>();
  const createdPods = new Set<string>();
  const boundPods = new Set<string>();
  let allPodsReadyAt = Number.NaN;
  let allCreatedAt = Number.NaN;
  let allBoundAt = Number.NaN;
  const podList = await client.list(REFS.pods, ns, { labelSelector: `app=${name}` });
  const podWatch = client.watch(
    REFS.pods,
    ns,
    { labelSelector: `app=${name}`, resourceVersion: podList.metadata?.resourceVersion ?? "" },
    (e) => {
      const p = e.object as Pod;
      const now = performance.now();
      createdPods.add(p.metadata?.name ?? "");
      if (p.spec?.nodeName) boundPods.add(p.metadata?.name ?? "");
      if (createdPods.size >= opts.replicas && Number.isNaN(allCreatedAt)) allCreatedAt = now;
      if (boundPods.size >= opts.replicas && Number.isNaN(allBoundAt)) allBoundAt = now;
      const ready = p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
      if (e.type === "DELETED" || !ready) readyPods.delete(p.metadata?.name ?? "");
      else readyPods.add(p.metadata?.name ?? "");
      if (readyPods.size >= opts.replicas && Number.isNaN(allPodsReadyAt)) allPodsReadyAt = now;
    },
  );

  const deployment: Deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: ns },
    spec: {
      replicas: opts.replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels, annotations: { "loopkube.dev/runtime": "simulated" } },
        spec: { containers: [{ name: "app", image: "none", ports: [{ containerPort: 8080 }] }] },
      },
    },
  };
  const first = slices.next((s) => (s.endpoints ?? []).some((e) => e.conditions?.ready !== false));
  let firstAt = Number.NaN;
  void first.then((e) => {
    firstAt = e.at;
  });
  const all = slices.next(() => slices.readyCount() >= opts.replicas);
  await client.create(REFS.deployments, ns, deployment as KubeObject);
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const done = await Promise.race([
      all,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new Error(
                `${name}: ${slices.readyCount()} of ${opts.replicas} endpoints ready after ${opts.timeoutMs} ms`,
              ),
            ),
          opts.timeoutMs,
        );
      }),
    ]);
    return {
      replicas: opts.replicas,
      allInSlicesMs: done.at - t0,
      allPodsReadyMs: allPodsReadyAt - t0,
      firstInSliceMs: firstAt - t0,
      allPodsCreatedMs: allCreatedAt - t0,
      allPodsBoundMs: allBoundAt - t0,
    };
  } finally {
    clearTimeout(timer);
    slices.stop();
    podWatch.stop();
  }
}
