import assert from "node:assert/strict";
import { test } from "node:test";
import type { FieldError } from "../errors.ts";
import type { KubeObject } from "../types.ts";
import { configMapStrategy, secretStrategy, serviceAccountStrategy } from "./config.ts";
import { endpointsStrategy } from "./endpoints.ts";
import { endpointSliceStrategy } from "./endpointslice.ts";
import { eventStrategy } from "./event.ts";
import { leaseStrategy } from "./lease.ts";
import { namespaceStrategy } from "./namespace.ts";
import { nodeStrategy } from "./node.ts";
import {
  persistentVolumeClaimStrategy,
  persistentVolumeStrategy,
  storageClassStrategy,
} from "./storage.ts";

const lines = (errs: FieldError[]) => errs.map((e) => `${e.field}: ${e.message}`);
const NOW = Date.parse("2026-01-01T01:00:00Z");
const created = "2026-01-01T00:00:00Z";

function obj(name: string, body: Record<string, unknown>, namespace?: string): KubeObject {
  return {
    metadata: { name, creationTimestamp: created, ...(namespace ? { namespace } : {}) },
    ...body,
  };
}

test("namespaces default to Active, get their name label and the kubernetes finalizer on create only", () => {
  const ns = obj("team-a", {});
  namespaceStrategy.applyDefaults(ns);
  namespaceStrategy.prepareForCreate?.(ns);
  assert.deepEqual(ns.status, { phase: "Active" });
  assert.deepEqual(ns.spec, { finalizers: ["kubernetes"] });
  assert.deepEqual(ns.metadata.labels, { "kubernetes.io/metadata.name": "team-a" });
  const update = obj("team-a", { spec: { finalizers: [] } });
  namespaceStrategy.applyDefaults(update);
  namespaceStrategy.prepareForUpdate?.(update, ns);
  assert.deepEqual(
    update.spec,
    { finalizers: ["kubernetes"] },
    "only /finalize changes finalizers",
  );
  assert.deepEqual(namespaceStrategy.row(ns, NOW), ["team-a", "Active", "60m"]);
  assert.deepEqual(namespaceStrategy.selectableFields?.(ns), { "status.phase": "Active" });
  assert.match(
    lines(namespaceStrategy.validate(obj("a.b", {})))[0] ?? "",
    /a lowercase RFC 1123 label/,
  );
});

test("secrets default to Opaque, count their keys and keep their type", () => {
  const s = obj("s", { data: { a: "eA==", b: "eQ==" } }, "default");
  secretStrategy.applyDefaults(s);
  assert.equal(s.type, "Opaque");
  assert.deepEqual(secretStrategy.row(s, NOW), ["s", "Opaque", 2, "60m"]);
  const tls = obj("t", { type: "kubernetes.io/tls", data: { "tls.crt": "eA==" } }, "default");
  assert.deepEqual(lines(secretStrategy.validate(tls)), ["data[tls.key]: Required value"]);
  const retyped = { ...s, type: "kubernetes.io/basic-auth", data: { username: "eA==" } };
  assert.deepEqual(lines(secretStrategy.validateUpdate(retyped, s)), [
    'type: Invalid value: "kubernetes.io/basic-auth": field is immutable',
  ]);
  const frozen = { ...s, immutable: true };
  assert.deepEqual(lines(secretStrategy.validateUpdate({ ...frozen, data: {} }, frozen)), [
    "data: Forbidden: field is immutable when `immutable` is set",
  ]);
  assert.deepEqual(secretStrategy.selectableFields?.(s), { type: "Opaque" });
});

test("secret stringData is merged into data (base64, over data) and dropped before validation", () => {
  const cases: { name: string; secret: Record<string, unknown>; data?: Record<string, string> }[] =
    [
      {
        name: "the docs' basic-auth example",
        secret: {
          type: "kubernetes.io/basic-auth",
          stringData: { username: "admin", password: "t0p-Secret" },
        },
        data: { username: "YWRtaW4=", password: "dDBwLVNlY3JldA==" },
      },
      {
        name: "stringData wins over data for the same key, other data keys stay",
        secret: { data: { a: "eA==", b: "eQ==" }, stringData: { a: "z" } },
        data: { a: "eg==", b: "eQ==" },
      },
      { name: "empty stringData leaves no data", secret: { stringData: {} } },
      {
        name: "UTF-8 text is encoded as bytes",
        secret: { stringData: { k: "é" } },
        data: { k: "w6k=" },
      },
    ];
  for (const { name, secret, data } of cases) {
    const created = obj("s", secret, "default");
    secretStrategy.applyDefaults(created);
    secretStrategy.prepareForCreate?.(created);
    assert.deepEqual(created.data, data, name);
    assert.equal(created.stringData, undefined, name);
    assert.deepEqual(lines(secretStrategy.validate(created)), [], name);
    const updated = obj("s", secret, "default");
    secretStrategy.prepareForUpdate?.(updated, created);
    assert.deepEqual(updated.data, data, `${name} (update)`);
  }
  const badKey = obj("s", { stringData: { "bad key": "x" } }, "default");
  secretStrategy.prepareForCreate?.(badKey);
  assert.match(lines(secretStrategy.validate(badKey))[0] ?? "", /^data\[bad key\]: Invalid value/);
});

test("configmap keys follow IsConfigMapKey and the row counts data and binaryData", () => {
  const cm = obj("c", { data: { "bad key": "x", ok: "y" }, binaryData: { ok: "eA==" } }, "default");
  assert.deepEqual(lines(configMapStrategy.validate(cm)), [
    "data[bad key]: Invalid value: \"bad key\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
    'binaryData[ok]: Invalid value: "ok": duplicate of key "ok" present in data',
  ]);
  assert.deepEqual(configMapStrategy.row(cm, NOW), ["c", 3, "60m"]);
  const big = obj("c", { data: { k: "x".repeat(1024 * 1024 + 1) } }, "default");
  assert.deepEqual(lines(configMapStrategy.validate(big)), [
    ": Too long: may not be more than 1048576 bytes",
  ]);
  const sa = obj("default", { secrets: [{ name: "t" }] }, "default");
  assert.deepEqual(serviceAccountStrategy.row(sa, NOW), ["default", 1, "60m"]);
});

test("endpoints print the first three ready addresses then how many more", () => {
  const ep = obj(
    "web",
    {
      subsets: [
        {
          addresses: [
            { ip: "127.244.0.1" },
            { ip: "127.244.0.2" },
            { ip: "127.244.0.3" },
            { ip: "127.244.0.4" },
          ],
          notReadyAddresses: [{ ip: "127.244.0.9" }],
          ports: [{ port: 8080 }],
        },
      ],
    },
    "default",
  );
  endpointsStrategy.applyDefaults(ep);
  assert.equal((ep.subsets as { ports: { protocol: string }[] }[])[0]?.ports[0]?.protocol, "TCP");
  assert.deepEqual(endpointsStrategy.row(ep, NOW), [
    "web",
    "127.244.0.1:8080,127.244.0.2:8080,127.244.0.3:8080 + 1 more...",
    "60m",
  ]);
  assert.deepEqual(endpointsStrategy.row(obj("e", {}, "default"), NOW), ["e", "<none>", "60m"]);
  const headless = obj("h", { subsets: [{ addresses: [{ ip: "127.244.0.1" }] }] }, "default");
  assert.deepEqual(endpointsStrategy.row(headless, NOW), ["h", "127.244.0.1", "60m"]);
});

test("endpointslices default port names and protocols, cap endpoints and keep addressType", () => {
  const slice = obj(
    "web-x",
    { addressType: "IPv4", endpoints: [{ addresses: ["127.244.0.1"] }], ports: [{ port: 8080 }] },
    "default",
  );
  endpointSliceStrategy.applyDefaults(slice);
  assert.deepEqual(slice.ports, [{ port: 8080, name: "", protocol: "TCP" }]);
  assert.deepEqual(endpointSliceStrategy.row(slice, NOW), [
    "web-x",
    "IPv4",
    "8080",
    "127.244.0.1",
    "60m",
  ]);
  const many = {
    ...slice,
    endpoints: Array.from({ length: 1001 }, (_, i) => ({
      addresses: [`127.244.${i >> 8}.${i & 255}`],
    })),
  };
  assert.deepEqual(lines(endpointSliceStrategy.validate(many)), [
    "endpoints: Too many: 1001: must have at most 1000 items",
  ]);
  assert.deepEqual(
    endpointSliceStrategy.row(many, NOW)[3],
    "127.244.0.0,127.244.0.1,127.244.0.2 + 998 more...",
  );
  assert.deepEqual(
    lines(endpointSliceStrategy.validateUpdate({ ...slice, addressType: "IPv6" }, slice)),
    [
      'endpoints[0].addresses[0]: Invalid value: "127.244.0.1": must be a valid IPv6 address',
      'addressType: Invalid value: "IPv6": field is immutable',
    ],
  );
  assert.deepEqual(lines(endpointSliceStrategy.validate({ ...slice, addressType: "IP" })), [
    'addressType: Unsupported value: "IP": supported values: "FQDN", "IPv4", "IPv6"',
  ]);
  assert.deepEqual(endpointSliceStrategy.row(obj("e", { addressType: "IPv4" }, "default"), NOW), [
    "e",
    "IPv4",
    "<unset>",
    "<unset>",
    "60m",
  ]);
});

test("node rows show readiness, cordoning, roles and addresses", () => {
  const node = obj("n1", {
    spec: { unschedulable: true },
    status: {
      conditions: [{ type: "Ready", status: "True" }],
      addresses: [{ type: "InternalIP", address: "127.0.0.1" }],
      nodeInfo: {
        kubeletVersion: "v1.32.0",
        osImage: "Linux",
        kernelVersion: "6.1",
        containerRuntimeVersion: "loopkube://0.1.0",
      },
      capacity: { cpu: "2", pods: "110" },
    },
  });
  node.metadata = {
    ...node.metadata,
    labels: { "node-role.kubernetes.io/control-plane": "", "kubernetes.io/role": "worker" },
  };
  nodeStrategy.applyDefaults(node);
  assert.deepEqual((node.status as Record<string, unknown>).allocatable, { cpu: "2", pods: "110" });
  assert.deepEqual(nodeStrategy.row(node, NOW), [
    "n1",
    "Ready,SchedulingDisabled",
    "control-plane,worker",
    "60m",
    "v1.32.0",
    "127.0.0.1",
    "<none>",
    "Linux",
    "6.1",
    "loopkube://0.1.0",
  ]);
  const bare = obj("n2", {});
  assert.deepEqual(nodeStrategy.row(bare, NOW).slice(0, 3), ["n2", "Unknown", "<none>"]);
  const notReady = obj("n3", { status: { conditions: [{ type: "Ready", status: "Unknown" }] } });
  assert.equal(nodeStrategy.row(notReady, NOW)[1], "NotReady");
  assert.deepEqual(nodeStrategy.selectableFields?.(node), { "spec.unschedulable": "true" });
});

test("events print like kubectl get events and expose involvedObject field selectors", () => {
  const ev = obj(
    "web.17",
    {
      involvedObject: {
        kind: "Pod",
        name: "web-0",
        namespace: "default",
        uid: "u1",
        fieldPath: "spec.containers{web}",
      },
      reason: "Started",
      message: "Started container web\n",
      type: "Normal",
      source: { component: "kubelet", host: "loopkube" },
      firstTimestamp: "2026-01-01T00:30:00Z",
      lastTimestamp: "2026-01-01T00:55:00Z",
      count: 3,
    },
    "default",
  );
  assert.deepEqual(eventStrategy.row(ev, NOW), [
    "5m",
    "Normal",
    "Started",
    "pod/web-0",
    "spec.containers{web}",
    "kubelet, loopkube",
    "Started container web",
    "30m",
    3,
    "web.17",
  ]);
  const fields = eventStrategy.selectableFields?.(ev);
  assert.equal(fields?.["involvedObject.name"], "web-0");
  assert.equal(fields?.["involvedObject.uid"], "u1");
  assert.equal(fields?.source, "kubelet");
  const other = { ...ev, involvedObject: { kind: "Pod", name: "x", namespace: "other" } };
  assert.deepEqual(lines(eventStrategy.validate(other)), [
    'involvedObject.namespace: Invalid value: "other": does not match event.namespace',
  ]);
});

test("claims default to Filesystem/Pending, need access modes and storage, and keep their spec", () => {
  const pvc = obj(
    "data",
    { spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } },
    "default",
  );
  persistentVolumeClaimStrategy.applyDefaults(pvc);
  assert.equal((pvc.spec as Record<string, unknown>).volumeMode, "Filesystem");
  assert.deepEqual(pvc.status, { phase: "Pending" });
  assert.deepEqual(persistentVolumeClaimStrategy.row(pvc, NOW), [
    "data",
    "Pending",
    "",
    "",
    "",
    "",
    "<unset>",
    "60m",
    "Filesystem",
  ]);
  assert.deepEqual(
    lines(
      persistentVolumeClaimStrategy.validate(
        obj("d", { spec: { accessModes: ["ReadWriteSometimes"] } }, "default"),
      ),
    ),
    [
      'spec.accessModes: Unsupported value: "ReadWriteSometimes": supported values: "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"',
      "spec.resources[storage]: Required value",
    ],
  );
  const bound = structuredClone(pvc);
  (bound.spec as Record<string, unknown>).volumeName = "pv-1";
  assert.deepEqual(
    lines(persistentVolumeClaimStrategy.validateUpdate(bound, pvc)),
    [],
    "the binder may set volumeName",
  );
  bound.status = {
    phase: "Bound",
    accessModes: ["ReadWriteOnce", "ReadWriteMany"],
    capacity: { storage: "1Gi" },
  };
  assert.deepEqual(persistentVolumeClaimStrategy.row(bound, NOW).slice(1, 5), [
    "Bound",
    "pv-1",
    "1Gi",
    "RWO,RWX",
  ]);
  const changed = structuredClone(bound);
  (changed.spec as Record<string, unknown>).accessModes = ["ReadWriteMany"];
  assert.deepEqual(lines(persistentVolumeClaimStrategy.validateUpdate(changed, bound)), [
    "spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
  ]);
});

test("volumes and storage classes default their policies and print their columns", () => {
  const pv = obj("pv-1", {
    spec: {
      capacity: { storage: "5Gi" },
      accessModes: ["ReadWriteOnce"],
      hostPath: { path: "/x" },
      claimRef: { namespace: "default", name: "data" },
    },
  });
  persistentVolumeStrategy.applyDefaults(pv);
  assert.deepEqual(persistentVolumeStrategy.row(pv, NOW), [
    "pv-1",
    "5Gi",
    "RWO",
    "Retain",
    "Pending",
    "default/data",
    "",
    "<unset>",
    "",
    "60m",
    "Filesystem",
  ]);
  assert.deepEqual(
    lines(
      persistentVolumeStrategy.validate(
        obj("pv-2", { spec: { capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce"] } }),
      ),
    ),
    ["spec: Required value: must specify a volume type"],
  );
  const sc = obj("standard", { provisioner: "loopkube.io/hostpath" });
  sc.metadata = {
    ...sc.metadata,
    annotations: { "storageclass.kubernetes.io/is-default-class": "true" },
  };
  storageClassStrategy.applyDefaults(sc);
  assert.deepEqual(storageClassStrategy.row(sc, NOW), [
    "standard (default)",
    "loopkube.io/hostpath",
    "Delete",
    "Immediate",
    false,
    "60m",
  ]);
  assert.deepEqual(
    lines(storageClassStrategy.validateUpdate({ ...sc, parameters: { a: "b" } }, sc)),
    ["parameters: Forbidden: updates to parameters are forbidden."],
  );
});

test("leases need a positive duration and print their holder", () => {
  const lease = obj(
    "leader",
    { spec: { holderIdentity: "ctrl-1", leaseDurationSeconds: 0 } },
    "kube-system",
  );
  assert.deepEqual(lines(leaseStrategy.validate(lease)), [
    "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0",
  ]);
  assert.deepEqual(leaseStrategy.row(lease, NOW), ["leader", "ctrl-1", "60m"]);
});
