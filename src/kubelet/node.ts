/**
 * Node registration and heartbeats, as the kubelet does them: the Node object (capacity and
 * allocatable from the host, the four conditions with the kubelet's reasons and messages,
 * addresses, nodeInfo, daemonEndpoints), a full status report every `statusReportMs`, and the
 * Lease `kube-node-lease/<node>` renewed every `leaseRenewMs` (holder = node, 40 s duration,
 * owned by the Node so it goes with it).
 *
 * Errors never stop the loops: they are reported through `onError` and the next tick retries.
 *
 * @module
 */
import { existsSync, readFileSync, statfsSync } from "node:fs";
import { arch, cpus, hostname, release, totalmem } from "node:os";
import { isStatusError } from "../api/errors.ts";
import { REFS, sub } from "../api/refs.ts";
import type { KubeObject } from "../api/types.ts";
import type { ApiVerbs } from "../api/verbs.ts";
import { VERSION } from "../api/version.ts";

/** The Kubernetes version loopkube speaks (the API server reports the same). */
export const KUBELET_VERSION = `v1.32.0+loopkube-${VERSION}`;

export interface NodeAgentOptions {
  nodeName: string;
  podCidr: string;
  /** The node's InternalIP. */
  nodeIP: string;
  dataDir: string;
  now: () => Date;
  onError: (e: unknown) => void;
  leaseRenewMs?: number;
  statusReportMs?: number;
  maxPods?: number;
  /** The node's `status.images` (image runtimes), read at each status report. */
  images?: () => Promise<{ names: string[]; sizeBytes: number }[]>;
}

const goArch = () => ({ x64: "amd64", arm64: "arm64", ia32: "386" })[arch() as string] ?? arch();
const seconds = (d: Date) => `${d.toISOString().slice(0, 19)}Z`;
const micro = (d: Date) => d.toISOString().replace("Z", "000Z");

function readOr(path: string, fallback: string): string {
  try {
    return existsSync(path) ? readFileSync(path, "utf8").trim() : fallback;
  } catch {
    return fallback;
  }
}

function osImage(): string {
  const text = readOr("/etc/os-release", "");
  const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(text);
  return m?.[1] ?? "Linux";
}

/** The host's resources as Kubernetes quantities. */
export function hostResources(dataDir: string, maxPods: number): Record<string, string> {
  const out: Record<string, string> = {
    cpu: String(cpus().length || 1),
    memory: `${Math.floor(totalmem() / 1024)}Ki`,
    pods: String(maxPods),
  };
  try {
    const fs = statfsSync(existsSync(dataDir) ? dataDir : "/");
    out["ephemeral-storage"] = `${Math.floor((fs.blocks * fs.bsize) / 1024)}Ki`;
  } catch {
    // statfs unavailable: leave ephemeral-storage out, as a kubelet without cadvisor data does.
  }
  return out;
}

export function nodeStatus(o: NodeAgentOptions, since: Date): Record<string, unknown> {
  const now = seconds(o.now());
  const t = seconds(since);
  const cond = (type: string, status: string, reason: string, message: string) => ({
    type,
    status,
    lastHeartbeatTime: now,
    lastTransitionTime: t,
    reason,
    message,
  });
  const resources = hostResources(o.dataDir, o.maxPods ?? 110);
  return {
    capacity: resources,
    allocatable: resources,
    conditions: [
      cond(
        "MemoryPressure",
        "False",
        "KubeletHasSufficientMemory",
        "kubelet has sufficient memory available",
      ),
      cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
      cond(
        "PIDPressure",
        "False",
        "KubeletHasSufficientPID",
        "kubelet has sufficient PID available",
      ),
      cond("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
    ],
    addresses: [
      { type: "InternalIP", address: o.nodeIP },
      { type: "Hostname", address: o.nodeName },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    nodeInfo: {
      machineID: readOr("/etc/machine-id", ""),
      systemUUID: readOr("/sys/class/dmi/id/product_uuid", ""),
      bootID: readOr("/proc/sys/kernel/random/boot_id", ""),
      kernelVersion: release(),
      osImage: osImage(),
      containerRuntimeVersion: `loopkube-process://${VERSION}`,
      kubeletVersion: KUBELET_VERSION,
      kubeProxyVersion: KUBELET_VERSION,
      operatingSystem: "linux",
      architecture: goArch(),
    },
  };
}

export interface NodeAgent {
  /** Resolves once the Node exists with its status. */
  ready: Promise<KubeObject>;
  stop(): void;
}

export function startNodeAgent(client: ApiVerbs, o: NodeAgentOptions): NodeAgent {
  const since = o.now();
  let stopped = false;
  let uid = "";
  const timers: NodeJS.Timeout[] = [];

  const register = async (): Promise<KubeObject> => {
    const a = goArch();
    const node: KubeObject = {
      apiVersion: "v1",
      kind: "Node",
      metadata: {
        name: o.nodeName,
        labels: {
          "beta.kubernetes.io/arch": a,
          "beta.kubernetes.io/os": "linux",
          "kubernetes.io/arch": a,
          "kubernetes.io/hostname": o.nodeName,
          "kubernetes.io/os": "linux",
        },
        annotations: { "loopkube.dev/host": hostname() },
      },
      spec: { podCIDR: o.podCidr, podCIDRs: [o.podCidr] },
    };
    let created: KubeObject;
    try {
      created = await client.create(REFS.nodes, "", node);
    } catch (e) {
      if (!isStatusError(e, "AlreadyExists")) throw e;
      created = await client.get(REFS.nodes, "", o.nodeName);
    }
    uid = created.metadata.uid ?? "";
    return reportStatus();
  };

  const reportStatus = async () => {
    const images = o.images ? await o.images().catch(() => undefined) : undefined;
    return client.patch(sub(REFS.nodes, "status"), "", o.nodeName, "merge", {
      status: { ...nodeStatus(o, since), ...(images && { images }) },
    });
  };

  const renewLease = async () => {
    const spec = {
      holderIdentity: o.nodeName,
      leaseDurationSeconds: 40,
      renewTime: micro(o.now()),
    };
    try {
      await client.patch(REFS.leases, "kube-node-lease", o.nodeName, "merge", { spec });
    } catch (e) {
      if (!isStatusError(e, "NotFound")) throw e;
      await client.create(REFS.leases, "kube-node-lease", {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: {
          name: o.nodeName,
          namespace: "kube-node-lease",
          ownerReferences: uid ? [{ apiVersion: "v1", kind: "Node", name: o.nodeName, uid }] : [],
        },
        spec,
      });
    }
  };

  const every = (ms: number, fn: () => Promise<unknown>) => {
    const loop = () => {
      if (stopped) return;
      const t = setTimeout(() => {
        void fn().catch(o.onError).finally(loop);
      }, ms);
      t.unref?.();
      timers.push(t);
      if (timers.length > 8) timers.shift();
    };
    loop();
  };

  const ready = register().then(async (n) => {
    await renewLease().catch(o.onError);
    every(o.leaseRenewMs ?? 10_000, renewLease);
    every(o.statusReportMs ?? 60_000, async () => {
      try {
        await reportStatus();
      } catch (e) {
        // The Node was deleted under us: register again, as the kubelet does.
        if (!isStatusError(e, "NotFound")) throw e;
        await register();
      }
    });
    return n;
  });
  ready.catch(o.onError);

  return {
    ready,
    stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
    },
  };
}
