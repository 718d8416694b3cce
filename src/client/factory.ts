/**
 * Shared informers: one informer per resource for every component of a process, as client-go's
 * SharedInformerFactory gives. Controllers, the node agent, DNS and the proxy each add their
 * handlers to the same cache instead of holding a copy each.
 *
 * @module
 */
import type { KubeObject } from "../api/types.ts";
import type { ApiVerbs, ResourceRef } from "../api/verbs.ts";
import { createInformer, type Informer, type InformerOptions } from "./informer.ts";

export interface InformerFactory {
  /** The shared informer of a resource (created on first use, started by `start`). */
  get<T extends KubeObject = KubeObject>(ref: ResourceRef): Informer<T>;
  /** Starts every informer created so far and any created later. */
  start(): void;
  /** Resolves when every informer created so far has synced. */
  waitForSync(): Promise<void>;
  stop(): Promise<void>;
}

export function createInformerFactory(
  client: ApiVerbs,
  options: Omit<InformerOptions, "namespace" | "labelSelector" | "fieldSelector"> = {},
): InformerFactory {
  const informers = new Map<string, Informer>();
  let started = false;
  return {
    get<T extends KubeObject>(ref: ResourceRef): Informer<T> {
      const key = `${ref.group}/${ref.version}/${ref.resource}`;
      let inf = informers.get(key);
      if (!inf) {
        inf = createInformer(client, ref, options);
        informers.set(key, inf);
        if (started) inf.start();
      }
      return inf as unknown as Informer<T>;
    },
    start() {
      started = true;
      for (const inf of informers.values()) inf.start();
    },
    async waitForSync() {
      await Promise.all([...informers.values()].map((i) => i.waitForSync()));
    },
    async stop() {
      await Promise.all([...informers.values()].map((i) => i.stop()));
    },
  };
}
