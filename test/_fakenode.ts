/**
 * A stand-in node agent for controller tests: what a simulated kubelet does, in a few lines.
 * Pods without a node are bound to `test-node`; a bound pod gets a unique 127.244.x.y IP and turns
 * Running with Ready = `ready(pod)` (default true); a pod being deleted is removed at once. The
 * real node agent lives in `src/kubelet/`.
 *
 * @module
 */
import type { Pod } from "kubernetes-types/core/v1.js";
import { isStatusError } from "../src/api/errors.ts";
import { REFS, sub } from "../src/api/refs.ts";
import { asKube, type KubeObject, objectKey } from "../src/api/types.ts";
import type { ApiVerbs } from "../src/api/verbs.ts";
import type { InformerFactory } from "../src/client/factory.ts";

export interface FakeNode {
  /** Sets a pod's readiness (the next sync writes it). */
  setReady(namespace: string, name: string, ready: boolean): Promise<void>;
  stop(): Promise<void>;
}

const NODE = "test-node";

export function startFakeNode(
  client: ApiVerbs,
  informers: InformerFactory,
  options: { ready?: (pod: Pod) => boolean } = {},
): FakeNode {
  const pods = informers.get<Pod & KubeObject>(REFS.pods);
  const ips = new Map<string, string>();
  const overrides = new Map<string, boolean>();
  let next = 2;
  let stopped = false;
  const busy = new Set<string>();

  const ipFor = (key: string) => {
    let ip = ips.get(key);
    if (!ip) {
      ip = `127.244.${Math.floor(next / 250)}.${(next % 250) + 2}`;
      next++;
      ips.set(key, ip);
    }
    return ip;
  };

  const now = () => `${new Date().toISOString().slice(0, 19)}Z`;

  async function sync(pod: Pod): Promise<void> {
    const key = objectKey(asKube(pod));
    const ns = pod.metadata?.namespace ?? "";
    const name = pod.metadata?.name ?? "";
    if (pod.metadata?.deletionTimestamp) {
      await client.delete(REFS.pods, ns, name, { gracePeriodSeconds: 0 }).catch(() => {});
      return;
    }
    if (!pod.spec?.nodeName) {
      await client.create(sub(REFS.pods, "binding"), ns, {
        apiVersion: "v1",
        kind: "Binding",
        metadata: { name },
        target: { kind: "Node", name: NODE },
      } as KubeObject);
      return;
    }
    const ready = overrides.get(key) ?? options.ready?.(pod) ?? true;
    const ip = ipFor(key);
    const have = pod.status;
    const isReady = (have?.conditions ?? []).some(
      (c) => c.type === "Ready" && c.status === (ready ? "True" : "False"),
    );
    if (have?.phase === "Running" && have.podIP === ip && isReady) return;
    const t = now();
    const status = {
      phase: "Running",
      podIP: ip,
      podIPs: [{ ip }],
      hostIP: "127.0.0.1",
      startTime: have?.startTime ?? t,
      conditions: [
        { type: "PodScheduled", status: "True", lastTransitionTime: t },
        { type: "Initialized", status: "True", lastTransitionTime: t },
        { type: "ContainersReady", status: ready ? "True" : "False", lastTransitionTime: t },
        { type: "Ready", status: ready ? "True" : "False", lastTransitionTime: t },
      ],
      containerStatuses: (pod.spec?.containers ?? []).map((c) => ({
        name: c.name,
        image: c.image ?? "",
        imageID: "",
        ready,
        started: true,
        restartCount: 0,
        state: { running: { startedAt: t } },
      })),
    };
    await client.patch(sub(REFS.pods, "status"), ns, name, "merge", { status });
  }

  const schedule = (pod: Pod) => {
    const key = objectKey(asKube(pod));
    if (stopped || busy.has(key)) return;
    busy.add(key);
    void sync(pod)
      .catch((e) => {
        if (!isStatusError(e, "NotFound") && !isStatusError(e, "Conflict")) throw e;
      })
      .finally(() => {
        busy.delete(key);
        const latest = pods.get(pod.metadata?.namespace ?? "", pod.metadata?.name ?? "");
        if (latest && latest !== pod && !stopped) schedule(latest);
      });
  };

  const remove = pods.addHandlers({ onAdd: schedule, onUpdate: (_o, p) => schedule(p) });
  return {
    async setReady(namespace, name, ready) {
      overrides.set(`${namespace}/${name}`, ready);
      const p = pods.get(namespace, name);
      if (p) await sync(p);
    },
    async stop() {
      stopped = true;
      remove();
    },
  };
}
