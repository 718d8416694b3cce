/**
 * The objects the latency bench works on, and its two instruments inside the API:
 * - pods bound to a node no kubelet manages (`UNMANAGED_NODE`), whose status the bench writes
 *   itself through `pods/status`, as a kubelet would: nothing else ever overwrites it;
 * - `flipReady` writes one Ready transition (True ↔ False) with its `lastTransitionTime`;
 * - `SliceWatch`, a watch on a Service's EndpointSlices that resolves waiters at the first event
 *   satisfying their predicate, with the time it arrived.
 *
 * @module
 */
import type { Pod, Service } from "kubernetes-types/core/v1.js";
import type { EndpointSlice } from "kubernetes-types/discovery/v1.js";
import { REFS, sub } from "../../src/api/refs.ts";
import { type KubeObject, typed } from "../../src/api/types.ts";
import type { ApiVerbs, WatchHandle } from "../../src/api/verbs.ts";

export const UNMANAGED_NODE = "latency-bench-unmanaged";
export const TRIGGER_TIME = "endpoints.kubernetes.io/last-change-trigger-time";

export async function createNamespace(client: ApiVerbs, name: string): Promise<void> {
  await client.create(REFS.namespaces, "", {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name },
  });
}

export async function createService(
  client: ApiVerbs,
  ns: string,
  opts: { name: string; selector: Record<string, string>; headless?: boolean; port?: number },
): Promise<Service> {
  const port = opts.port ?? 8080;
  const svc: Service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: opts.name, namespace: ns },
    spec: {
      selector: opts.selector,
      ports: [{ name: "tcp", port, targetPort: 8080, protocol: "TCP" }],
      ...(opts.headless ? { clusterIP: "None" } : {}),
    },
  };
  return (await client.create(REFS.services, ns, svc as KubeObject)) as Service;
}

/** Creates a pod on the unmanaged node and makes it Running with `ip`, Ready as asked. */
export async function createUnmanagedPod(
  client: ApiVerbs,
  ns: string,
  opts: { name: string; labels: Record<string, string>; ip: string; ready: boolean },
): Promise<void> {
  const pod: Pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: opts.name, namespace: ns, labels: opts.labels },
    spec: {
      nodeName: UNMANAGED_NODE,
      containers: [{ name: "c", image: "none", ports: [{ containerPort: 8080 }] }],
    },
  };
  await client.create(REFS.pods, ns, pod as KubeObject);
  await flipReady(client, ns, { name: opts.name, ip: opts.ip, ready: opts.ready });
}

/**
 * One Ready transition, written as a kubelet writes status (merge patch of `pods/status`).
 * `lastTransitionTime` carries milliseconds so the trigger-time annotation derived from it can
 * be compared at that resolution (kube's API server would keep whole seconds only).
 * Returns the transition time written.
 */
export async function flipReady(
  client: ApiVerbs,
  ns: string,
  opts: { name: string; ip: string; ready: boolean },
): Promise<string> {
  const at = new Date().toISOString();
  const status = opts.ready ? "True" : "False";
  await client.patch(sub(REFS.pods, "status"), ns, opts.name, "merge", {
    status: {
      phase: "Running",
      hostIP: "127.0.0.1",
      podIP: opts.ip,
      podIPs: [{ ip: opts.ip }],
      conditions: [
        { type: "PodScheduled", status: "True", lastTransitionTime: at },
        { type: "Initialized", status: "True", lastTransitionTime: at },
        { type: "ContainersReady", status, lastTransitionTime: at },
        { type: "Ready", status, lastTransitionTime: at },
      ],
    },
  });
  return at;
}

export interface SliceEvent {
  /** performance.now() when the event arrived. */
  at: number;
  /** Date.now()-scale wall time when the event arrived (for the trigger-time annotation). */
  wall: number;
  slice: EndpointSlice;
}

/** Watches the EndpointSlices of one Service; `next(pred)` waits for a matching event. */
export class SliceWatch {
  private waiters: Array<{
    pred: (s: EndpointSlice) => boolean;
    resolve: (e: SliceEvent) => void;
  }> = [];
  private readonly current = new Map<string, EndpointSlice>();
  private handle: WatchHandle | undefined;

  static async start(client: ApiVerbs, ns: string, service: string): Promise<SliceWatch> {
    const w = new SliceWatch();
    const labelSelector = `kubernetes.io/service-name=${service}`;
    const list = await client.list(REFS.endpointslices, ns, { labelSelector });
    for (const s of list.items) w.current.set(s.metadata?.name ?? "", typed<EndpointSlice>(s));
    w.handle = client.watch(
      REFS.endpointslices,
      ns,
      { labelSelector, resourceVersion: list.metadata?.resourceVersion ?? "" },
      (e) => {
        if (e.type !== "ADDED" && e.type !== "MODIFIED" && e.type !== "DELETED") return;
        const at = performance.now();
        const wall = performance.timeOrigin + at;
        const slice = typed<EndpointSlice>(e.object as KubeObject);
        if (e.type === "DELETED") w.current.delete(slice.metadata?.name ?? "");
        else w.current.set(slice.metadata?.name ?? "", slice);
        w.waiters = w.waiters.filter((x) => {
          if (!x.pred(slice)) return true;
          x.resolve({ at, wall, slice });
          return false;
        });
      },
    );
    return w;
  }

  /** Resolves at the first event from now on whose slice satisfies `pred`. */
  next(pred: (s: EndpointSlice) => boolean): Promise<SliceEvent> {
    return new Promise((resolve) => this.waiters.push({ pred, resolve }));
  }

  /** Ready endpoints over every slice of the Service, as last seen. */
  readyCount(): number {
    let n = 0;
    for (const s of this.current.values())
      for (const e of s.endpoints ?? []) if (e.conditions?.ready !== false) n++;
    return n;
  }

  stop(): void {
    this.handle?.stop();
  }
}

/** The slice lists the pod's address with `ready` as given. */
export function sliceShows(ip: string, ready: boolean): (s: EndpointSlice) => boolean {
  return (s) =>
    (s.endpoints ?? []).some(
      (e) => e.addresses.includes(ip) && (e.conditions?.ready !== false) === ready,
    );
}
