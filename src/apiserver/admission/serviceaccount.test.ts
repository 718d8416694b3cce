import assert from "node:assert/strict";
import { test } from "node:test";
import { isStatusError } from "../../api/errors.ts";
import { REFS } from "../../api/refs.ts";
import type { KubeObject } from "../../api/types.ts";
import { openStore } from "../../store/index.ts";
import { createRegistry } from "../index.ts";
import { createInProcessClient } from "../inprocess.ts";

const MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount";

function setup() {
  const { registry } = createRegistry(openStore({ backend: "memory" }), {
    serviceAccountAdmission: true,
    random: () => 0,
  });
  const make = (ref: typeof REFS.pods, ns: string, obj: Record<string, unknown>) =>
    registry.createSync(ref, ns, obj as KubeObject);
  make(REFS.serviceaccounts, "default", { metadata: { name: "default" } });
  return { registry, make };
}

type Spec = {
  serviceAccountName?: string;
  serviceAccount?: string;
  volumes?: Array<Record<string, unknown>>;
  containers: Array<{ volumeMounts?: Array<Record<string, unknown>> }>;
  initContainers?: Array<{ volumeMounts?: Array<Record<string, unknown>> }>;
  imagePullSecrets?: Array<{ name: string }>;
};

const pod = (name: string, spec: Record<string, unknown> = {}) => ({
  metadata: { name },
  spec: { containers: [{ name: "c", image: "x" }], ...spec },
});

test("a pod gets the default account and kube's token volume, mounted in every container", () => {
  const { make } = setup();
  const created = make(
    REFS.pods,
    "default",
    pod("p", { initContainers: [{ name: "i", image: "x" }] }),
  ) as KubeObject & { spec: Spec };
  const spec = created.spec;
  assert.equal(spec.serviceAccountName, "default");
  assert.equal(spec.serviceAccount, "default");
  assert.deepEqual(spec.volumes, [
    {
      name: "kube-api-access-bbbbb",
      projected: {
        defaultMode: 420,
        sources: [
          { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
          { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
          {
            downwardAPI: {
              items: [
                {
                  path: "namespace",
                  fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" },
                },
              ],
            },
          },
        ],
      },
    },
  ]);
  const mount = { name: "kube-api-access-bbbbb", readOnly: true, mountPath: MOUNT };
  assert.deepEqual(spec.containers[0]?.volumeMounts, [mount]);
  assert.deepEqual(spec.initContainers?.[0]?.volumeMounts, [mount]);
});

test("automountServiceAccountToken: the pod's choice wins, then the account's", () => {
  const { make } = setup();
  make(REFS.serviceaccounts, "default", {
    metadata: { name: "quiet" },
    automountServiceAccountToken: false,
  });
  const cases: Array<[string, Record<string, unknown>, boolean]> = [
    ["pod says false", { automountServiceAccountToken: false }, false],
    ["account says false", { serviceAccountName: "quiet" }, false],
    [
      "pod says true over the account",
      { serviceAccountName: "quiet", automountServiceAccountToken: true },
      true,
    ],
    ["nobody says", {}, true],
  ];
  for (const [i, [what, spec, mounted]] of cases.entries()) {
    const created = make(REFS.pods, "default", pod(`p${i}`, spec)) as KubeObject & { spec: Spec };
    assert.equal((created.spec.volumes ?? []).length > 0, mounted, what);
    assert.equal((created.spec.containers[0]?.volumeMounts ?? []).length > 0, mounted, what);
  }
});

test("a container with something at the token's path keeps it; an existing token volume is reused", () => {
  const { make } = setup();
  const created = make(
    REFS.pods,
    "default",
    pod("p", {
      containers: [
        { name: "own", image: "x", volumeMounts: [{ name: "mine", mountPath: MOUNT }] },
        { name: "plain", image: "x" },
      ],
      volumes: [
        { name: "mine", emptyDir: {} },
        { name: "kube-api-access-xyz12", emptyDir: {} },
      ],
    }),
  ) as KubeObject & { spec: Spec };
  assert.deepEqual(created.spec.containers[0]?.volumeMounts, [{ name: "mine", mountPath: MOUNT }]);
  assert.deepEqual(created.spec.containers[1]?.volumeMounts, [
    { name: "kube-api-access-xyz12", readOnly: true, mountPath: MOUNT },
  ]);
  assert.equal(created.spec.volumes?.length, 2);
});

test("a pod naming a missing account is forbidden with kube's message", () => {
  const { make } = setup();
  const cases: Array<[Record<string, unknown>, string]> = [
    [
      pod("x", { serviceAccountName: "sa" }),
      'pods "x" is forbidden: error looking up service account default/sa: serviceaccount "sa" not found',
    ],
    [
      {
        metadata: { generateName: "web-5d8f-" },
        spec: { serviceAccount: "old", containers: [{ name: "c", image: "x" }] },
      },
      'pods "web-5d8f-" is forbidden: error looking up service account default/old: serviceaccount "old" not found',
    ],
  ];
  for (const [body, message] of cases) {
    assert.throws(
      () => make(REFS.pods, "default", body),
      (e) => isStatusError(e, "Forbidden") && e.code === 403 && e.message === message,
    );
  }
});

test("the account's imagePullSecrets go to a pod without any; enforce-mountable-secrets limits secrets", () => {
  const { make } = setup();
  make(REFS.serviceaccounts, "default", {
    metadata: {
      name: "puller",
      annotations: { "kubernetes.io/enforce-mountable-secrets": "true" },
    },
    secrets: [{ name: "ok" }],
    imagePullSecrets: [{ name: "registry" }],
  });
  const created = make(
    REFS.pods,
    "default",
    pod("p", {
      serviceAccountName: "puller",
      volumes: [{ name: "v", secret: { secretName: "ok" } }],
    }),
  ) as KubeObject & { spec: Spec };
  assert.deepEqual(created.spec.imagePullSecrets, [{ name: "registry" }]);
  assert.throws(
    () =>
      make(
        REFS.pods,
        "default",
        pod("q", {
          serviceAccountName: "puller",
          volumes: [{ name: "v", secret: { secretName: "other" } }],
        }),
      ),
    (e) =>
      isStatusError(e, "Forbidden") &&
      e.message ===
        'pods "q" is forbidden: volume with secret.secretName="other" is not allowed because service account puller does not reference that secret',
  );
});

test("a mirror pod may not reference an account", () => {
  const { make } = setup();
  const mirror = { "kubernetes.io/config.mirror": "x" };
  const plain = make(REFS.pods, "default", {
    ...pod("m1"),
    metadata: { name: "m1", annotations: mirror },
  }) as KubeObject & { spec: Spec };
  assert.equal(plain.spec.serviceAccountName, undefined);
  assert.equal(plain.spec.volumes, undefined);
  assert.throws(
    () =>
      make(REFS.pods, "default", {
        ...pod("m2", { serviceAccountName: "default" }),
        metadata: { name: "m2", annotations: mirror },
      }),
    (e) =>
      isStatusError(e, "Forbidden") &&
      e.message === 'pods "m2" is forbidden: a mirror pod may not reference service accounts',
  );
});

test("a create waits for the default account of a new namespace, then is admitted", async () => {
  const { registry, make } = setup();
  const client = createInProcessClient(registry);
  make(REFS.namespaces, "", { metadata: { name: "fresh" } });
  const created = client.create(REFS.pods, "fresh", pod("p") as KubeObject);
  setTimeout(() => make(REFS.serviceaccounts, "fresh", { metadata: { name: "default" } }), 100);
  const p = (await created) as KubeObject & { spec: Spec };
  assert.equal(p.spec.serviceAccountName, "default");
  // A named account is not waited for: kube looks it up once.
  await assert.rejects(
    client.create(REFS.pods, "fresh", pod("q", { serviceAccountName: "later" }) as KubeObject),
    (e) => isStatusError(e, "Forbidden"),
  );
});
