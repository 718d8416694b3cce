/**
 * Kernel ClusterIPs, kept current: Services and EndpointSlices from the shared informers into
 * a {@link ProxyState}, and after each burst of changes (one turn of the event loop, or while
 * a run is going) one nft transaction, sent to the cluster's long-lived `nft -i` (src/nft),
 * that changes only what changed (nft.ts builds it; the whole table is written at start and
 * after a failed update). After each transaction the stale UDP conntrack entries are deleted
 * in one `conntrack -R <file>` per change (a `-D` line per entry), as kube-proxy does (to endpoints no longer used, and to frontends that
 * had none); without the `conntrack` program that is skipped with one warning. `stop()` deletes the table; a crashed cluster's is removed with its
 * pod network names at the next start (the node agent's sweep knows the `loopkube-<tag>-svc`
 * name).
 *
 * @module
 */
import type { Service } from "kubernetes-types/core/v1.js";
import type { EndpointSlice } from "kubernetes-types/discovery/v1.js";
import type { KubeObject } from "../api/types.ts";
import type { InformerFactory } from "../client/factory.ts";
import { keepNftState } from "../nft/index.ts";
import { deleteUdpFlows } from "./conntrack.ts";
import {
  type KernelModel,
  type KernelServiceOptions,
  kernelFullScript,
  kernelModel,
  kernelUpdateScript,
  staleUdp,
  withIngressFrontends,
} from "./nft.ts";
import { ProxyState } from "./state.ts";

const SERVICES = { group: "", version: "v1", resource: "services" };
const SLICES = { group: "discovery.k8s.io", version: "v1", resource: "endpointslices" };

export interface KernelProxyOptions extends KernelServiceOptions {
  nodeName: string;
  nodeIP: string;
  /** Services left out (kube-dns when the DNS server answers on its ClusterIP itself). */
  skip?: (svc: Service) => boolean;
  onError(e: unknown): void;
}

export interface KernelProxy {
  /** Resolves once every change seen so far is in the kernel. */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

export async function startKernelProxy(
  informers: InformerFactory,
  o: KernelProxyOptions,
): Promise<KernelProxy> {
  const state = new ProxyState({ nodeName: o.nodeName, nodeIP: o.nodeIP });
  let flows: KernelModel | undefined;
  const table = keepNftState<KernelModel>({
    table: o.table,
    // One nft process per cluster: the NetworkPolicy table is `loopkube-<tag>`, ours `…-svc`.
    session: o.table.replace(/-svc$/, ""),
    desired: () => kernelModel(withIngressFrontends(state.views()), o),
    script: (prev, next) =>
      prev === undefined ? kernelFullScript(next, o) : kernelUpdateScript(prev, next, o),
    written: async (_prev, next) => {
      const stale = staleUdp(flows, next);
      flows = next;
      await deleteUdpFlows(stale, o.onError);
    },
    onError: o.onError,
    deleteAlways: true,
  });
  const changed = () => table.changed();
  const upsert = (svc: Service) => {
    if (o.skip?.(svc)) state.deleteService(svc);
    else state.upsertService(svc);
    changed();
  };
  const services = informers.get<KubeObject>(SERVICES);
  const slices = informers.get<KubeObject>(SLICES);
  const removers = [
    services.addHandlers({
      onAdd: (s) => upsert(s as Service),
      onUpdate: (_old, s) => upsert(s as Service),
      onDelete: (s) => {
        state.deleteService(s as Service);
        changed();
      },
    }),
    slices.addHandlers({
      onAdd: (s) => {
        state.upsertEndpointSlice(s as unknown as EndpointSlice);
        changed();
      },
      onUpdate: (_old, s) => {
        state.upsertEndpointSlice(s as unknown as EndpointSlice);
        changed();
      },
      onDelete: (s) => {
        state.deleteEndpointSlice(s as unknown as EndpointSlice);
        changed();
      },
    }),
  ];
  await Promise.all([services.waitForSync(), slices.waitForSync()]);
  changed();
  await table.settled();
  return {
    settled: () => table.settled(),
    async stop() {
      for (const r of removers) r();
      await table.stop();
    },
  };
}
