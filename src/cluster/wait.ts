/**
 * Waiting for applied objects to become ready, as `kubectl wait`/`rollout status` judge it:
 * a Deployment when its observed generation is current and every replica is updated and
 * available; a StatefulSet when every replica is ready and updated; a DaemonSet when every node
 * that should run it has an updated, available pod; a ReplicaSet or ReplicationController when
 * every replica is ready; a Pod when its Ready condition is True. Other kinds are ready once they
 * exist.
 *
 * It re-reads the objects every `intervalMs` until all are ready or `timeoutMs` passes, then
 * throws a `ClusterError` naming what is still not ready.
 *
 * @module
 */
import type { KubeObject } from "../api/types.ts";
import type { ApiVerbs } from "../api/verbs.ts";
import { ClusterError } from "./errors.ts";
import { targetFor } from "./manifests.ts";

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

interface Status {
  observedGeneration?: number;
  replicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  updatedReplicas?: number;
  currentRevision?: string;
  updateRevision?: string;
  conditions?: Array<{ type?: string; status?: string }>;
  desiredNumberScheduled?: number;
  updatedNumberScheduled?: number;
  numberAvailable?: number;
}

/** Whether one object, as read from the server, counts as ready. */
export function isReady(obj: KubeObject): boolean {
  const spec = (obj as { spec?: { replicas?: number } }).spec;
  const status = ((obj as { status?: Status }).status ?? {}) as Status;
  const generationSeen = (status.observedGeneration ?? 0) >= (obj.metadata.generation ?? 0);
  const want = spec?.replicas ?? 1;
  switch (obj.kind) {
    case "Deployment":
      return (
        generationSeen &&
        (status.updatedReplicas ?? 0) >= want &&
        (status.availableReplicas ?? 0) >= want &&
        (status.replicas ?? 0) <= want
      );
    case "StatefulSet":
      return (
        generationSeen &&
        (status.readyReplicas ?? 0) >= want &&
        (status.updatedReplicas ?? 0) >= want
      );
    case "ReplicaSet":
    case "ReplicationController":
      return generationSeen && (status.readyReplicas ?? 0) >= want;
    case "DaemonSet": {
      const desired = status.desiredNumberScheduled ?? 0;
      return (
        generationSeen &&
        (status.updatedNumberScheduled ?? 0) >= desired &&
        (status.numberAvailable ?? 0) >= desired
      );
    }
    case "Pod":
      return (status.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
    default:
      return true;
  }
}

export async function waitReady(
  client: ApiVerbs,
  objects: readonly KubeObject[],
  options: WaitOptions = {},
): Promise<void> {
  const now = options.now ?? Date.now;
  const sleep =
    options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref?.()));
  const deadline = now() + (options.timeoutMs ?? 120_000);
  let pending = [...objects];
  for (;;) {
    const still: KubeObject[] = [];
    for (const obj of pending) {
      const target = await targetFor(client, obj).catch(() => undefined);
      if (!target) continue;
      const ns = target.namespaced ? (obj.metadata.namespace ?? "default") : "";
      const live = await client.get(target.ref, ns, obj.metadata.name ?? "").catch(() => undefined);
      if (!live || !isReady(live)) still.push(obj);
    }
    pending = still;
    if (pending.length === 0) return;
    if (now() >= deadline) {
      const names = pending.map((o) => `${o.kind} ${o.metadata.name}`).join(", ");
      throw new ClusterError(`timed out waiting for ${names} to become ready`);
    }
    await sleep(options.intervalMs ?? 200);
  }
}
