/**
 * Cluster housekeeping end to end, driven by the real kubectl: garbage collection in the three
 * propagation modes, namespace deletion, scheduling, and the legacy Endpoints.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Pod } from "kubernetes-types/core/v1.js";
import { waitFor } from "../src/_testing/index.ts";
import { isStatusError } from "../src/api/errors.ts";
import { REFS } from "../src/api/refs.ts";
import { type KubeObject, typed } from "../src/api/types.ts";
import type { StartedController } from "../src/controllers/index.ts";
import { startVolumeController } from "../src/controllers/volume/index.ts";
import { startTestControlPlane, type TestControlPlane } from "./_controlplane.ts";
import { NO_KUBECTL } from "./_kubectl.ts";

const cm = (name: string, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, ...extra },
  data: { k: "v" },
});

async function exists(
  cp: TestControlPlane,
  ns: string,
  name: string,
): Promise<KubeObject | undefined> {
  try {
    return await cp.client.get(REFS.configmaps, ns, name);
  } catch (e) {
    if (isStatusError(e, "NotFound")) return undefined;
    throw e;
  }
}

describe("garbage collector and namespace controller", { skip: NO_KUBECTL }, () => {
  let cp: TestControlPlane;
  before(async () => {
    cp = await startTestControlPlane({ controllers: ["garbagecollector", "namespace"] });
  });
  after(async () => {
    await cp?.stop();
  });

  /** An owner ConfigMap and two dependents, one blocking the owner's foreground deletion. */
  async function family(prefix: string): Promise<void> {
    const owner = await cp.client.create(REFS.configmaps, "default", cm(`${prefix}-owner`));
    const ownerRef = (block: boolean) => ({
      apiVersion: "v1",
      kind: "ConfigMap",
      name: owner.metadata.name,
      uid: owner.metadata.uid,
      ...(block ? { blockOwnerDeletion: true } : {}),
    });
    await cp.client.create(
      REFS.configmaps,
      "default",
      cm(`${prefix}-a`, { ownerReferences: [ownerRef(true)] }),
    );
    await cp.client.create(
      REFS.configmaps,
      "default",
      cm(`${prefix}-b`, { ownerReferences: [ownerRef(false)] }),
    );
  }

  test("kubectl delete removes the dependents in the background", async () => {
    await family("bg");
    const r = await cp.api.kubectl(["delete", "configmap", "bg-owner"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /configmap "bg-owner" deleted/);
    await waitFor(
      async () =>
        (await exists(cp, "default", "bg-a")) || (await exists(cp, "default", "bg-b"))
          ? undefined
          : true,
      { what: "dependents collected" },
    );
  });

  test("kubectl delete --cascade=foreground deletes the dependents before the owner", async () => {
    await family("fg");
    const r = await cp.api.kubectl([
      "delete",
      "configmap",
      "fg-owner",
      "--cascade=foreground",
      "--wait=false",
    ]);
    assert.equal(r.code, 0, r.stderr);
    // The owner stays, marked for deletion, while its blocking dependent exists.
    const owner = await exists(cp, "default", "fg-owner");
    if (owner) {
      assert.ok(owner.metadata.deletionTimestamp);
      assert.ok(owner.metadata.finalizers?.includes("foregroundDeletion"));
    }
    await waitFor(async () => ((await exists(cp, "default", "fg-owner")) ? undefined : true), {
      what: "owner gone",
    });
    assert.equal(
      await exists(cp, "default", "fg-a"),
      undefined,
      "blocking dependent gone before the owner",
    );
    await waitFor(async () => ((await exists(cp, "default", "fg-b")) ? undefined : true), {
      what: "non-blocking dependent gone",
    });
  });

  test("kubectl delete --cascade=orphan leaves the dependents without the owner reference", async () => {
    await family("or");
    const r = await cp.api.kubectl(["delete", "configmap", "or-owner", "--cascade=orphan"]);
    assert.equal(r.code, 0, r.stderr);
    await waitFor(async () => ((await exists(cp, "default", "or-owner")) ? undefined : true), {
      what: "owner gone",
    });
    for (const n of ["or-a", "or-b"]) {
      const d = await exists(cp, "default", n);
      assert.ok(d, `${n} kept`);
      assert.deepEqual(d.metadata.ownerReferences ?? [], [], `${n} orphaned`);
    }
    // Still there once the collector has caught up: nobody collects an orphan. The proof of
    // catching up is a dependent of a never-existing owner, created after and collected.
    await cp.client.create(
      REFS.configmaps,
      "default",
      cm("or-barrier", {
        ownerReferences: [
          { apiVersion: "v1", kind: "ConfigMap", name: "or-ghost", uid: "no-such-uid-or" },
        ],
      }),
    );
    await waitFor(async () => ((await exists(cp, "default", "or-barrier")) ? undefined : true), {
      what: "the collector to catch up (or-barrier collected)",
    });
    assert.ok(await exists(cp, "default", "or-a"));
    assert.ok(await exists(cp, "default", "or-b"));
  });

  test("a dependent whose owner uid never existed is collected", async () => {
    await cp.client.create(
      REFS.configmaps,
      "default",
      cm("ghost-child", {
        ownerReferences: [
          { apiVersion: "v1", kind: "ConfigMap", name: "ghost", uid: "no-such-uid" },
        ],
      }),
    );
    await waitFor(async () => ((await exists(cp, "default", "ghost-child")) ? undefined : true), {
      what: "orphan of a ghost gone",
    });
  });

  test("kubectl delete ns removes everything in it, then the namespace", async () => {
    assert.equal((await cp.api.kubectl(["create", "namespace", "team"])).code, 0);
    await cp.client.create(REFS.configmaps, "team", cm("settings"));
    await cp.client.create(REFS.secrets, "team", {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "s" },
    });
    await cp.client.create(REFS.pods, "team", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p" },
      spec: { containers: [{ name: "c", image: "node" }] },
    });
    const r = await cp.api.kubectl(["delete", "ns", "team", "--timeout=20s"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /namespace "team" deleted/);
    const get = await cp.api.kubectl(["get", "ns", "team"]);
    assert.notEqual(get.code, 0);
    assert.match(get.stderr, /namespaces "team" not found/);
    assert.equal((await cp.client.list(REFS.configmaps, "team")).items.length, 0);
    assert.equal((await cp.client.list(REFS.pods, "team")).items.length, 0);
  });
});

describe("scheduler", { skip: NO_KUBECTL }, () => {
  let cp: TestControlPlane;
  before(async () => {
    cp = await startTestControlPlane({ controllers: ["scheduler"] });
    await cp.client.create(REFS.nodes, "", {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: "loopkube", labels: { "kubernetes.io/hostname": "loopkube" } },
    });
    await cp.client.patch({ ...REFS.nodes, subresource: "status" }, "", "loopkube", "merge", {
      status: {
        conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", message: "ready" }],
      },
    });
  });
  after(async () => {
    await cp?.stop();
  });

  const podOf = async (name: string) => typed<Pod>(await cp.client.get(REFS.pods, "default", name));
  const scheduled = (p: Pod) => p.status?.conditions?.find((c) => c.type === "PodScheduled");

  test("a pod is bound to the ready node with PodScheduled=True and a Scheduled event", async () => {
    const r = await cp.api.kubectl(["run", "web-0", "--image=node", "--restart=Never"]);
    assert.equal(r.code, 0, r.stderr);
    const pod = await waitFor(
      async () => {
        const p = await podOf("web-0");
        return p.spec?.nodeName ? p : undefined;
      },
      { what: "binding" },
    );
    assert.equal(pod.spec?.nodeName, "loopkube");
    assert.equal(scheduled(pod)?.status, "True");
    const ev = await waitFor(
      async () => {
        const e = await cp.api.kubectl([
          "get",
          "events",
          "--field-selector",
          "involvedObject.name=web-0",
        ]);
        return /Scheduled/.test(e.stdout) ? e.stdout : undefined;
      },
      { what: "Scheduled event" },
    );
    assert.match(ev, /Successfully assigned default\/web-0 to loopkube/);
  });

  test("a pod whose nodeSelector matches no node stays Pending, Unschedulable, shown by kubectl describe", async () => {
    const r = await cp.api.kubectl([
      "run",
      "picky",
      "--image=node",
      "--restart=Never",
      "--overrides",
      JSON.stringify({ spec: { nodeSelector: { disk: "ssd" } } }),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const message =
      "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.";
    const pod = await waitFor(
      async () => {
        const p = await podOf("picky");
        return scheduled(p)?.status === "False" ? p : undefined;
      },
      { what: "PodScheduled=False" },
    );
    assert.equal(pod.spec?.nodeName, undefined);
    assert.equal(scheduled(pod)?.reason, "Unschedulable");
    assert.equal(scheduled(pod)?.message, message);
    const d = await waitFor(
      async () => {
        const out = (await cp.api.kubectl(["describe", "pod", "picky"])).stdout;
        return /FailedScheduling/.test(out) ? out : undefined;
      },
      { what: "FailedScheduling event" },
    );
    assert.match(d, /Status:\s+Pending/);
    assert.match(d, /PodScheduled\s+False/);
    assert.match(d, /Warning\s+FailedScheduling\s+.*default-scheduler\s+0\/1 nodes are available/);

    // Labelling the node lets the waiting pod through.
    assert.equal((await cp.api.kubectl(["label", "node", "loopkube", "disk=ssd"])).code, 0);
    await waitFor(
      async () => ((await podOf("picky")).spec?.nodeName === "loopkube" ? true : undefined),
      { what: "picky bound" },
    );
  });
});

describe("endpoints controller", { skip: NO_KUBECTL }, () => {
  let cp: TestControlPlane;
  before(async () => {
    cp = await startTestControlPlane({ controllers: ["endpoints"], fakeNode: true });
  });
  after(async () => {
    await cp?.stop();
  });

  test("kubectl get endpoints lists the ready pods as ip:port, and the Endpoints go with the Service", async () => {
    await cp.client.create(REFS.services, "default", {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web", labels: { app: "web" } },
      spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: 8080 }] },
    });
    for (const n of ["web-a", "web-b"])
      await cp.client.create(REFS.pods, "default", {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: n, labels: { app: "web" } },
        spec: { containers: [{ name: "c", image: "node" }] },
      });
    const out = await waitFor(
      async () => {
        const r = await cp.api.kubectl(["get", "endpoints", "web"]);
        return (r.stdout.match(/127\.244\.\d+\.\d+:8080/g) ?? []).length === 2
          ? r.stdout
          : undefined;
      },
      { what: "two endpoints in kubectl get endpoints" },
    );
    assert.match(out, /^NAME\s+ENDPOINTS\s+AGE/);
    assert.match(out, /^web\s+127\.244\.\d+\.\d+:8080,127\.244\.\d+\.\d+:8080\s+/m);
    const ep = await cp.client.get(REFS.endpoints, "default", "web");
    assert.equal(ep.metadata.labels?.["endpointslice.kubernetes.io/skip-mirror"], "true");
    assert.ok(ep.metadata.annotations?.["endpoints.kubernetes.io/last-change-trigger-time"]);

    await cp.node?.setReady("default", "web-b", false);
    await waitFor(
      async () => {
        const e = (await cp.client.get(REFS.endpoints, "default", "web")) as KubeObject & {
          subsets?: Array<{ notReadyAddresses?: Array<{ targetRef?: { name?: string } }> }>;
        };
        return e.subsets?.[0]?.notReadyAddresses?.[0]?.targetRef?.name === "web-b"
          ? true
          : undefined;
      },
      { what: "web-b not ready" },
    );

    assert.equal((await cp.api.kubectl(["delete", "service", "web"])).code, 0);
    await waitFor(
      async () => {
        const r = await cp.api.kubectl(["get", "endpoints", "web"]);
        return r.code !== 0 && /not found/.test(r.stderr) ? true : undefined;
      },
      { what: "Endpoints deleted with the Service" },
    );
  });
});

describe("volume controller", { skip: NO_KUBECTL }, () => {
  let cp: TestControlPlane;
  let volumes: StartedController;
  const dataDir = mkdtempSync(join(tmpdir(), "loopkube-housekeeping-"));
  before(async () => {
    cp = await startTestControlPlane({ controllers: [] });
    // The harness passes no data directory, so the controller is started here with one.
    volumes = startVolumeController(
      { client: cp.client, informers: cp.informers, now: () => new Date() },
      { dataDir },
    );
  });
  after(async () => {
    await volumes?.stop();
    await cp?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("the default StorageClass exists, and a claim is bound to a provisioned PV whose directory goes with it", async () => {
    const sc = await waitFor(
      async () => {
        const r = await cp.api.kubectl(["get", "storageclass"]);
        return /standard \(default\)/.test(r.stdout) ? r.stdout : undefined;
      },
      { what: "default StorageClass" },
    );
    assert.match(sc, /standard \(default\)\s+loopkube\.dev\/local-path\s+Delete\s+Immediate/);

    const manifest = [
      "apiVersion: v1",
      "kind: PersistentVolumeClaim",
      "metadata:",
      "  name: data",
      "spec:",
      "  accessModes: [ReadWriteOnce]",
      "  resources:",
      "    requests:",
      "      storage: 1Gi",
    ].join("\n");
    const applied = await cp.api.kubectl(["apply", "-f", "-"], { input: manifest });
    assert.equal(applied.code, 0, applied.stderr);
    const line = await waitFor(
      async () => {
        const r = await cp.api.kubectl(["get", "pvc", "data"]);
        return /\bBound\b/.test(r.stdout) ? r.stdout : undefined;
      },
      { what: "claim Bound" },
    );
    assert.match(line, /data\s+Bound\s+pvc-[0-9a-f-]+\s+1Gi\s+RWO\s+/);
    const pvc = await cp.client.get(REFS.persistentvolumeclaims, "default", "data");
    const pvName = (pvc.spec as { volumeName?: string }).volumeName ?? "";
    assert.equal(pvName, `pvc-${pvc.metadata.uid}`);
    assert.equal(pvc.metadata.annotations?.["pv.kubernetes.io/bind-completed"], "yes");
    assert.equal(
      pvc.metadata.annotations?.["volume.kubernetes.io/storage-provisioner"],
      "loopkube.dev/local-path",
    );
    const pv = await cp.client.get(REFS.persistentvolumes, "", pvName);
    const path = (pv.spec as { hostPath?: { path?: string } }).hostPath?.path ?? "";
    assert.equal(path, join(dataDir, "volumes", pvName));
    assert.ok(existsSync(path), "volume directory created");
    writeFileSync(join(path, "file"), "kept while bound");
    const pvLine = (await cp.api.kubectl(["get", "pv", pvName])).stdout;
    assert.match(pvLine, /1Gi\s+RWO\s+Delete\s+Bound\s+default\/data\s+standard/);

    assert.equal((await cp.api.kubectl(["delete", "pvc", "data"])).code, 0);
    await waitFor(async () => (existsSync(path) ? undefined : true), { what: "directory removed" });
    await waitFor(
      async () => {
        const r = await cp.api.kubectl(["get", "pv", pvName]);
        return r.code !== 0 && /not found/.test(r.stderr) ? true : undefined;
      },
      { what: "PV deleted" },
    );
  });
});
