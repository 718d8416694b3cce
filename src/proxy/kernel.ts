/**
 * Kernel ClusterIPs, kept current: Services and EndpointSlices from the shared informers into
 * a {@link ProxyState}, and after each burst of changes (one turn of the event loop, or while
 * a run is going) the cluster's service table replaced in one `nft -f -` transaction (nft.ts
 * builds it). `stop()` deletes the table; a crashed cluster's is removed with its pod network
 * names at the next start (the node agent's sweep knows the `loopkube-<tag>-svc` name).
 *
 * @module
 */
import { spawn } from "node:child_process";
import type { Service } from "kubernetes-types/core/v1.js";
import type { EndpointSlice } from "kubernetes-types/discovery/v1.js";
import type { KubeObject } from "../api/types.ts";
import type { InformerFactory } from "../client/factory.ts";
import { type KernelServiceOptions, kernelServicesScript } from "./nft.ts";
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

function nft(script: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("nft", ["-f", "-"], { stdio: ["pipe", "ignore", "pipe"] });
    let err = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      err += d;
    });
    child.once("error", reject);
    child.once("close", (code) =>
      code === 0 ? resolve() : reject(new Error(err.trim() || `nft exited with ${code}`)),
    );
    child.stdin.end(script);
  });
}

export async function startKernelProxy(
  informers: InformerFactory,
  o: KernelProxyOptions,
): Promise<KernelProxy> {
  const state = new ProxyState({ nodeName: o.nodeName, nodeIP: o.nodeIP });
  let applied = "";
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  const run = async () => {
    do {
      again = false;
      await new Promise((r) => setImmediate(r));
      if (stopped) return;
      const script = kernelServicesScript(
        [...state.views()].flatMap((v) => v.ports),
        o,
      );
      if (script === applied) continue;
      try {
        await nft(script);
        applied = script;
      } catch (e) {
        o.onError(e);
      }
    } while (again && !stopped);
  };
  const changed = () => {
    if (stopped) return;
    if (running !== undefined) {
      again = true;
      return;
    }
    running = run().finally(() => {
      running = undefined;
    });
  };
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
  const settled = async () => {
    while (running !== undefined) await running;
  };
  await settled();
  return {
    settled,
    async stop() {
      stopped = true;
      for (const r of removers) r();
      await running;
      await nft(`table ip ${o.table}\ndelete table ip ${o.table}\n`).catch(o.onError);
    },
  };
}
