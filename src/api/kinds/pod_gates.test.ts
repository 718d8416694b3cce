import assert from "node:assert/strict";
import { test } from "node:test";
import type { Obj } from "./_util.ts";
import { podStrategy } from "./pod.ts";
import { DISABLED_POD_FIELDS, dropDisabledPodFields } from "./pod_gates.ts";

const c = (extra: Obj = {}): Obj => ({ name: "app", image: "nginx", ...extra });

interface Case {
  name: string;
  pod: Obj;
  old?: Obj;
  want: Obj;
}

const CASES: Case[] = [
  {
    name: "pod-level resources (PodLevelResources) are dropped",
    pod: { spec: { resources: { limits: { cpu: "1" } }, containers: [c()] } },
    want: { spec: { containers: [c()] } },
  },
  {
    name: "pod-level resources stay when the stored pod has them",
    pod: { spec: { resources: { limits: { cpu: "2" } }, containers: [c()] } },
    old: { spec: { resources: { limits: { cpu: "1" } }, containers: [c()] } },
    want: { spec: { resources: { limits: { cpu: "2" } }, containers: [c()] } },
  },
  {
    name: "empty pod-level resources in the stored pod are not a use",
    pod: { spec: { resources: { limits: { cpu: "2" } }, containers: [c()] } },
    old: { spec: { resources: { requests: {} }, containers: [c()] } },
    want: { spec: { containers: [c()] } },
  },
  {
    name: "hostUsers (UserNamespacesSupport) is dropped",
    pod: { spec: { hostUsers: false, containers: [c()] } },
    want: { spec: { containers: [c()] } },
  },
  {
    name: "supplementalGroupsPolicy and seLinuxChangePolicy are dropped, the rest of securityContext stays",
    pod: {
      spec: {
        securityContext: {
          runAsUser: 1000,
          supplementalGroupsPolicy: "Strict",
          seLinuxChangePolicy: "Recursive",
        },
        containers: [c()],
      },
    },
    want: { spec: { securityContext: { runAsUser: 1000 }, containers: [c()] } },
  },
  {
    name: "an image volume (ImageVolume) goes with every mount of it",
    pod: {
      spec: {
        volumes: [
          { name: "model", image: { reference: "quay.io/m:1" } },
          { name: "tmp", emptyDir: {} },
        ],
        containers: [
          c({
            volumeMounts: [
              { name: "model", mountPath: "/m" },
              { name: "tmp", mountPath: "/tmp" },
            ],
          }),
        ],
        initContainers: [c({ name: "init", volumeMounts: [{ name: "model", mountPath: "/m" }] })],
      },
    },
    want: {
      spec: {
        volumes: [{ name: "tmp", emptyDir: {} }],
        containers: [c({ volumeMounts: [{ name: "tmp", mountPath: "/tmp" }] })],
        initContainers: [c({ name: "init", volumeMounts: [] })],
      },
    },
  },
  {
    name: "resource claims (DynamicResourceAllocation) are dropped from the pod and its containers",
    pod: {
      spec: {
        resourceClaims: [{ name: "gpu", resourceClaimName: "gpu-0" }],
        containers: [c({ resources: { limits: { cpu: "1" }, claims: [{ name: "gpu" }] } })],
      },
    },
    want: { spec: { containers: [c({ resources: { limits: { cpu: "1" } } })] } },
  },
  {
    name: "resizePolicy (InPlacePodVerticalScaling) is dropped from every container list",
    pod: {
      spec: {
        containers: [c({ resizePolicy: [{ resourceName: "cpu", restartPolicy: "NotRequired" }] })],
        ephemeralContainers: [
          c({ name: "dbg", resizePolicy: [{ resourceName: "cpu", restartPolicy: "NotRequired" }] }),
        ],
      },
    },
    want: { spec: { containers: [c()], ephemeralContainers: [c({ name: "dbg" })] } },
  },
  {
    name: "a clusterTrustBundle projection (ClusterTrustBundleProjection) is dropped, its siblings stay",
    pod: {
      spec: {
        containers: [c()],
        volumes: [
          {
            name: "certs",
            projected: {
              sources: [
                { clusterTrustBundle: { name: "b", path: "ca.pem" } },
                { configMap: { name: "x" } },
              ],
            },
          },
        ],
      },
    },
    want: {
      spec: {
        containers: [c()],
        volumes: [{ name: "certs", projected: { sources: [{}, { configMap: { name: "x" } }] } }],
      },
    },
  },
  {
    name: "procMount (ProcMountType) is forced to Default, not removed",
    pod: { spec: { containers: [c({ securityContext: { procMount: "Unmasked" } })] } },
    want: { spec: { containers: [c({ securityContext: { procMount: "Default" } })] } },
  },
  {
    name: "procMount Default in the stored pod is not a use",
    pod: { spec: { containers: [c({ securityContext: { procMount: "Unmasked" } })] } },
    old: { spec: { containers: [c({ securityContext: { procMount: "Default" } })] } },
    want: { spec: { containers: [c({ securityContext: { procMount: "Default" } })] } },
  },
  {
    name: "container status fields of disabled gates are dropped",
    pod: {
      spec: { containers: [c()] },
      status: {
        containerStatuses: [
          {
            name: "app",
            ready: true,
            user: { linux: { uid: 0, gid: 0 } },
            allocatedResources: { cpu: "1" },
            allocatedResourcesStatus: [{ name: "cpu", resources: [] }],
          },
        ],
        resourceClaimStatuses: [{ name: "gpu" }],
      },
    },
    want: {
      spec: { containers: [c()] },
      status: { containerStatuses: [{ name: "app", ready: true }] },
    },
  },
  {
    name: "a pod template (no status) is handled too",
    pod: { metadata: { labels: { a: "b" } }, spec: { hostUsers: true, containers: [c()] } },
    want: { metadata: { labels: { a: "b" } }, spec: { containers: [c()] } },
  },
];

test("dropDisabledPodFields drops what kube-apiserver 1.32 drops with its gates off", () => {
  for (const { name, pod, old, want } of CASES) {
    const got = structuredClone(pod);
    dropDisabledPodFields(got, old);
    assert.deepEqual(got, want, name);
  }
});

test("DISABLED_POD_FIELDS names each gate once", () => {
  const gates = DISABLED_POD_FIELDS.map((r) => r.gate);
  assert.equal(new Set(gates).size, gates.length);
});

test("podStrategy drops disabled fields on create, and on update unless the old pod uses them", () => {
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", namespace: "default" },
    spec: { resources: { limits: { cpu: "1" } }, hostUsers: false, containers: [c()] },
  };
  const created = structuredClone(pod);
  podStrategy.prepareForCreate?.(created);
  assert.equal((created.spec as Obj)["resources"], undefined);
  assert.equal((created.spec as Obj)["hostUsers"], undefined);
  const updated = structuredClone(pod);
  const old = { ...pod, spec: { resources: { limits: { cpu: "1" } }, containers: [c()] } };
  podStrategy.prepareForUpdate?.(updated, old);
  assert.deepEqual((updated.spec as Obj)["resources"], { limits: { cpu: "1" } });
  assert.equal((updated.spec as Obj)["hostUsers"], undefined);
});
