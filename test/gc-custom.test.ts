/**
 * The garbage collector and custom resources (issue #16), with the real kubectl: a CRD created
 * while the collector runs gets a monitor, ownerReferences between custom resources and built-ins
 * work both ways (background, foreground with `blockOwnerDeletion`, orphan), a CRD deleted takes
 * its objects and so their dependents, a CRD created again is watched again, and namespace
 * deletion removes custom resources. The built-in list is checked against the API's own table.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { waitFor } from "../src/_testing/index.ts";
import { RESOURCES } from "../src/apiserver/resources.ts";
import { GC_RESOURCES } from "../src/controllers/garbagecollector/index.ts";
import { startTestControlPlane, type TestControlPlane } from "./_controlplane.ts";
import { NO_KUBECTL } from "./_kubectl.ts";

const GROUP = "gc.example.com";
const CRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.${GROUP}
spec:
  group: ${GROUP}
  scope: Namespaced
  names: { plural: widgets, singular: widget, kind: Widget }
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
`;

interface Owner {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
}

const ownerRefs = (owner: Owner | undefined, block = false) =>
  owner
    ? `  ownerReferences:
    - { apiVersion: ${owner.apiVersion}, kind: ${owner.kind}, name: ${owner.name}, uid: ${owner.uid}${block ? ", blockOwnerDeletion: true" : ""} }
`
    : "";

const widget = (name: string, ns: string, owner?: Owner, extra = "") => `apiVersion: ${GROUP}/v1
kind: Widget
metadata:
  name: ${name}
  namespace: ${ns}
${ownerRefs(owner, true)}${extra}spec: { size: 1 }
`;

const deployment = (name: string, owner: Owner, extra = "") => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: default
${ownerRefs(owner, true)}${extra}spec:
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec: { containers: [{ name: c, image: busybox }] }
`;

const configMap = (name: string, owner?: Owner) => `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}
  namespace: default
${ownerRefs(owner)}data: { a: b }
`;

test("the collector's built-in list is every listable, watchable, deletable resource but events", () => {
  const want = RESOURCES.filter(
    (r) =>
      !r.storageVersion &&
      r.resource !== "events" &&
      ["list", "watch", "delete"].every((v) => r.verbs.includes(v)),
  ).map((r) => `${r.group}/${r.version}/${r.resource} ${r.kind} ${r.namespaced}`);
  const have = GC_RESOURCES.map(
    (r) => `${r.ref.group}/${r.ref.version}/${r.ref.resource} ${r.kind} ${r.namespaced}`,
  );
  assert.deepEqual([...have].sort(), [...want].sort());
});

describe("garbage collection of custom resources with kubectl", { skip: NO_KUBECTL }, () => {
  let cp: TestControlPlane;
  const kubectl = async (args: string[], input?: string) => {
    const r = await cp.api.kubectl(args, input === undefined ? {} : { input });
    return { ...r, out: r.stdout + r.stderr };
  };
  const ok = async (args: string[], input?: string) => {
    const r = await kubectl(args, input);
    assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.out}`);
    return r.stdout;
  };
  const create = async (yaml: string) => ok(["create", "-f", "-"], yaml);
  const ownerOf = async (kind: string, name: string, ns = "default"): Promise<Owner> => {
    const obj = JSON.parse(await ok(["get", kind, name, "-n", ns, "-o", "json"]));
    return { apiVersion: obj.apiVersion, kind: obj.kind, name, uid: obj.metadata.uid };
  };
  const gone = (kind: string, name: string, ns = "default") =>
    waitFor(
      async () => {
        const r = await kubectl(["get", kind, name, "-n", ns, "--ignore-not-found", "-o", "name"]);
        return r.code === 0 && r.stdout.trim() === "";
      },
      { what: `${kind}/${name} to be deleted` },
    );
  const installCrd = async () => {
    await ok(["apply", "-f", "-"], CRD);
    await ok(["wait", "--for=condition=Established", `crd/widgets.${GROUP}`, "--timeout=20s"]);
  };

  before(async () => {
    // The CRD comes after the collector started: its monitor must start at run time.
    cp = await startTestControlPlane({ controllers: ["garbagecollector", "namespace"] });
    await installCrd();
  });
  after(async () => {
    await cp?.stop();
  });

  test("deleting a custom resource deletes the Deployment it owns (background)", async () => {
    await create(widget("bg", "default"));
    await create(deployment("bg-app", await ownerOf("widget", "bg")));
    await ok(["delete", "widget", "bg"]);
    await gone("deployment", "bg-app");
  });

  test("foreground deletion of a custom resource waits for its blocking Deployment", async () => {
    await create(widget("fg", "default"));
    await create(
      deployment("fg-app", await ownerOf("widget", "fg"), "  finalizers: [example.com/hold]\n"),
    );
    await ok(["delete", "widget", "fg", "--cascade=foreground", "--wait=false"]);
    // The dependent is being deleted but held; the owner waits with foregroundDeletion.
    await waitFor(
      async () =>
        (await ok(["get", "deployment", "fg-app", "-o", "jsonpath={.metadata.deletionTimestamp}"]))
          .length > 0,
      { what: "the Deployment to be deleting" },
    );
    const finalizers = await ok(["get", "widget", "fg", "-o", "jsonpath={.metadata.finalizers}"]);
    assert.match(finalizers, /foregroundDeletion/);
    await ok([
      "patch",
      "deployment",
      "fg-app",
      "--type=merge",
      "-p",
      '{"metadata":{"finalizers":null}}',
    ]);
    await gone("deployment", "fg-app");
    await gone("widget", "fg");
  });

  test("orphan deletion of a custom resource leaves its Deployment without the reference", async () => {
    await create(widget("or", "default"));
    await create(deployment("or-app", await ownerOf("widget", "or")));
    await ok(["delete", "widget", "or", "--cascade=orphan"]);
    await gone("widget", "or");
    assert.equal(
      await ok(["get", "deployment", "or-app", "-o", "jsonpath={.metadata.ownerReferences}"]),
      "",
    );
    await ok(["delete", "deployment", "or-app"]);
  });

  test("a custom resource owned by a ConfigMap goes with it, in the background and foreground", async () => {
    await create(configMap("owner-bg"));
    await create(widget("w-bg", "default", await ownerOf("configmap", "owner-bg")));
    await ok(["delete", "configmap", "owner-bg"]);
    await gone("widget", "w-bg");

    await create(configMap("owner-fg"));
    await create(
      widget(
        "w-fg",
        "default",
        await ownerOf("configmap", "owner-fg"),
        "  finalizers: [example.com/hold]\n",
      ),
    );
    await ok(["delete", "configmap", "owner-fg", "--cascade=foreground", "--wait=false"]);
    await waitFor(
      async () =>
        (await ok(["get", "widget", "w-fg", "-o", "jsonpath={.metadata.deletionTimestamp}"]))
          .length > 0,
      { what: "the Widget to be deleting" },
    );
    assert.match(
      await ok(["get", "configmap", "owner-fg", "-o", "jsonpath={.metadata.finalizers}"]),
      /foregroundDeletion/,
    );
    await ok(["patch", "widget", "w-fg", "--type=merge", "-p", '{"metadata":{"finalizers":null}}']);
    await gone("widget", "w-fg");
    await gone("configmap", "owner-fg");
  });

  test("orphan deletion of a ConfigMap keeps the custom resource it owned", async () => {
    await create(configMap("owner-or"));
    await create(widget("w-or", "default", await ownerOf("configmap", "owner-or")));
    await ok(["delete", "configmap", "owner-or", "--cascade=orphan"]);
    await gone("configmap", "owner-or");
    assert.equal(
      await ok(["get", "widget", "w-or", "-o", "jsonpath={.metadata.ownerReferences}"]),
      "",
    );
    await ok(["delete", "widget", "w-or"]);
  });

  test("namespace deletion removes the custom resources in it", async () => {
    await ok(["create", "namespace", "gc-ns"]);
    await create(widget("in-ns", "gc-ns"));
    await ok(["delete", "namespace", "gc-ns", "--wait=false"]);
    await gone("namespace", "gc-ns");
    const r = await kubectl(["get", "widgets", "-A", "-o", "name"]);
    assert.doesNotMatch(r.stdout, /in-ns/);
  });

  test("a CRD deleted takes its objects' dependents along, and one created again is watched again", async () => {
    await create(widget("doomed", "default"));
    await create(configMap("doomed-cm", await ownerOf("widget", "doomed")));
    await ok(["delete", "crd", `widgets.${GROUP}`]);
    await gone("configmap", "doomed-cm");

    await installCrd();
    await create(widget("again", "default"));
    await create(configMap("again-cm", await ownerOf("widget", "again")));
    await ok(["delete", "widget", "again"]);
    await gone("configmap", "again-cm");
  });
});
