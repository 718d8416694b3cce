/**
 * Manifests a stock Kubernetes 1.32 API server accepts though they use what a new user meets
 * early: a `kubernetes.io/basic-auth` Secret given with `stringData` (the documentation's own
 * example), and pod fields of feature gates 1.32 has off, which kube-apiserver knows and drops
 * instead of refusing. Applied with the real `kubectl apply -f`.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestApiServer, type TestApiServer } from "./_apiserver.ts";
import { NO_KUBECTL } from "./_kubectl.ts";

// As in the Kubernetes documentation (Secrets, "Basic authentication Secret").
const BASIC_AUTH = `apiVersion: v1
kind: Secret
metadata:
  name: secret-basic-auth
type: kubernetes.io/basic-auth
stringData:
  username: admin # required field for kubernetes.io/basic-auth
  password: t0p-Secret # required field for kubernetes.io/basic-auth
`;

const GATED_POD = `apiVersion: v1
kind: Pod
metadata:
  name: gated
spec:
  resources:
    limits: {cpu: "1", memory: 200Mi}
  securityContext:
    runAsUser: 1000
    supplementalGroupsPolicy: Strict
  volumes:
  - name: model
    image: {reference: "quay.io/example/model:v1"}
  - name: scratch
    emptyDir: {}
  containers:
  - name: app
    image: nginx:1.27
    volumeMounts:
    - {name: model, mountPath: /model}
    - {name: scratch, mountPath: /scratch}
`;

const GATED_DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: gated
spec:
  selector:
    matchLabels: {app: gated}
  template:
    metadata:
      labels: {app: gated}
    spec:
      resources:
        limits: {cpu: "1", memory: 200Mi}
      containers:
      - name: app
        image: nginx:1.27
`;

describe("kubectl apply of manifests using 1.32's write-only and gated fields", {
  skip: NO_KUBECTL,
}, () => {
  let api: TestApiServer;
  before(async () => {
    api = await startTestApiServer();
  });
  after(async () => {
    await api?.stop();
  });

  const ok = async (args: string[], input?: string) => {
    const r = await api.kubectl(args, input === undefined ? {} : { input });
    assert.equal(r.code, 0, `kubectl ${args.join(" ")}:\n${r.stderr}${r.stdout}`);
    return r.stdout;
  };

  test("the docs' basic-auth Secret with stringData is stored with data, without stringData", async () => {
    assert.match(await ok(["apply", "-f", "-"], BASIC_AUTH), /secret\/secret-basic-auth created/);
    const secret = JSON.parse(await ok(["get", "secret", "secret-basic-auth", "-o", "json"]));
    assert.deepEqual(secret.data, { username: "YWRtaW4=", password: "dDBwLVNlY3JldA==" });
    assert.equal(secret.stringData, undefined);
    // Applying it again merges stringData again, over what is stored.
    const changed = BASIC_AUTH.replace("t0p-Secret", "n3w-Secret");
    await ok(["apply", "-f", "-"], changed);
    const again = JSON.parse(await ok(["get", "secret", "secret-basic-auth", "-o", "json"]));
    assert.equal(Buffer.from(again.data.password, "base64").toString(), "n3w-Secret");
  });

  test("a pod with fields of disabled gates is accepted and stored without them", async () => {
    assert.match(await ok(["apply", "-f", "-"], GATED_POD), /pod\/gated created/);
    const pod = JSON.parse(await ok(["get", "pod", "gated", "-o", "json"]));
    assert.equal(pod.spec.resources, undefined, "spec.resources (PodLevelResources)");
    assert.deepEqual(pod.spec.securityContext, { runAsUser: 1000 });
    assert.deepEqual(
      pod.spec.volumes.map((v: { name: string }) => v.name),
      ["scratch"],
      "the image volume (ImageVolume) is gone",
    );
    assert.deepEqual(
      pod.spec.containers[0].volumeMounts.map((m: { name: string }) => m.name),
      ["scratch"],
    );
  });

  test("a Deployment whose pod template has fields of disabled gates is stored without them", async () => {
    assert.match(
      await ok(["apply", "-f", "-"], GATED_DEPLOYMENT),
      /deployment.apps\/gated created/,
    );
    const d = JSON.parse(await ok(["get", "deployment", "gated", "-o", "json"]));
    assert.equal(d.spec.template.spec.resources, undefined, "spec.template.spec.resources");
    // Applied again, the patch puts the field back and the server drops it again: the spec and
    // its generation stay as they were.
    await ok(["apply", "-f", "-"], GATED_DEPLOYMENT);
    const again = JSON.parse(await ok(["get", "deployment", "gated", "-o", "json"]));
    assert.equal(again.spec.template.spec.resources, undefined);
    assert.equal(again.metadata.generation, d.metadata.generation);
  });
});
