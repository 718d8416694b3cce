/**
 * CustomResourceDefinitions end to end (issue #16) with the real kubectl and
 * @kubernetes/client-node: a CRD applied turns Established, its custom resources are served
 * (short names, categories, printer columns, scale, merge patch; strategic merge refused as kube
 * refuses it), a name conflict is refused in NamesAccepted, and deleting the CRD removes its
 * objects.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { waitFor } from "../src/_testing/index.ts";
import { startTestApiServer, type TestApiServer } from "./_apiserver.ts";
import { NO_KUBECTL } from "./_kubectl.ts";

const CRONTAB_CRD = join(import.meta.dirname, "fixtures", "crd", "crontab.yaml");
const GROUP = "stable.example.com";

function cronTab(name: string, replicas = 1): string {
  return `apiVersion: ${GROUP}/v1
kind: CronTab
metadata:
  name: ${name}
spec:
  cronSpec: "* * * * */5"
  image: my-awesome-cron-image
  replicas: ${replicas}
`;
}

describe("CustomResourceDefinitions with kubectl", { skip: NO_KUBECTL }, () => {
  let api: TestApiServer;
  const kubectl = async (args: string[], input?: string) => {
    const r = await api.kubectl(args, input === undefined ? {} : { input });
    return { ...r, out: r.stdout + r.stderr };
  };
  const ok = async (args: string[], input?: string) => {
    const r = await kubectl(args, input);
    assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.out}`);
    return r.stdout;
  };

  before(async () => {
    api = await startTestApiServer();
    await ok(["apply", "-f", CRONTAB_CRD]);
    await ok(["wait", "--for=condition=Established", `crd/crontabs.${GROUP}`, "--timeout=20s"]);
  });
  after(async () => {
    await api?.stop();
  });

  test("kubectl get crd prints NAME and CREATED AT and the CRD is Established", async () => {
    const out = await ok(["get", "crd"]);
    assert.match(out, /^NAME\s+CREATED AT\n/);
    assert.match(out, /crontabs\.stable\.example\.com\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/);
    const status = JSON.parse(
      await ok(["get", "crd", `crontabs.${GROUP}`, "-o", "jsonpath={.status}"]),
    );
    assert.deepEqual(
      status.conditions.map((c: { type: string; status: string }) => `${c.type}=${c.status}`),
      ["NamesAccepted=True", "Established=True"],
    );
    assert.deepEqual(status.storedVersions, ["v1"]);
    assert.equal(status.acceptedNames.kind, "CronTab");
  });

  test("an invalid CRD is refused with kube's 422 message", async () => {
    const r = await kubectl(
      ["apply", "-f", "-"],
      `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: things.example.com
spec:
  group: other.example.com
  scope: Namespaced
  names: { plural: things, kind: Thing }
  versions:
    - { name: v1, served: true, storage: true, schema: { openAPIV3Schema: { type: object } } }
`,
    );
    assert.notEqual(r.code, 0);
    assert.match(
      r.out,
      /The CustomResourceDefinition "things\.example\.com" is invalid: metadata\.name: Invalid value: "things\.example\.com": must be spec\.names\.plural\+"\."\+spec\.group/,
    );
  });

  test("a CRD whose names another CRD holds is not accepted", async () => {
    await ok(
      ["apply", "-f", "-"],
      `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabcopies.${GROUP}
spec:
  group: ${GROUP}
  scope: Namespaced
  names: { plural: crontabcopies, kind: CronTabCopy, shortNames: [ct] }
  versions:
    - { name: v1, served: true, storage: true, schema: { openAPIV3Schema: { type: object } } }
`,
    );
    const conditions = await waitFor(
      async () => {
        const out = await ok([
          "get",
          "crd",
          `crontabcopies.${GROUP}`,
          "-o",
          "jsonpath={.status.conditions}",
        ]);
        return out
          ? (JSON.parse(out) as Array<{
              type: string;
              status: string;
              reason: string;
              message: string;
            }>)
          : undefined;
      },
      { what: "the conflicting CRD's conditions" },
    );
    assert.deepEqual(
      conditions.map((c) => `${c.type}=${c.status} ${c.reason}: ${c.message}`),
      [
        'NamesAccepted=False NameConflict: "ct" is already in use',
        "Established=False NotAccepted: not all names are accepted",
      ],
    );
    const r = await kubectl(["get", "crontabcopies"]);
    assert.notEqual(r.code, 0, "a CRD that is not Established is not served");
    await ok(["delete", "crd", `crontabcopies.${GROUP}`]);
  });

  test("custom resources are served with short names, categories and printer columns", async () => {
    await ok(["apply", "-f", "-"], cronTab("my-new-cron-object"));
    const out = await ok(["get", "ct"]);
    assert.match(out, /^NAME\s+SPEC\s+REPLICAS\s+AGE\n/);
    assert.match(out, /my-new-cron-object\s+\* \* \* \* \*\/5\s+1\s+\d+s/);
    assert.match(await ok(["get", "all"]), /crontab\.stable\.example\.com\/my-new-cron-object/);
    const resources = await ok(["api-resources", `--api-group=${GROUP}`]);
    assert.match(resources, /crontabs\s+ct\s+stable\.example\.com\/v1\s+true\s+CronTab/);
  });

  test("the schema defaults, refuses bad values with kube's 422 and unknown fields as Strict does", async () => {
    await ok(
      ["apply", "-f", "-"],
      `apiVersion: ${GROUP}/v1\nkind: CronTab\nmetadata: {name: defaulted}\nspec: {cronSpec: "@hourly"}\n`,
    );
    assert.equal(await ok(["get", "ct", "defaulted", "-o", "jsonpath={.spec.replicas}"]), "1");
    const bad = await kubectl(
      ["apply", "-f", "-"],
      `apiVersion: ${GROUP}/v1\nkind: CronTab\nmetadata: {name: bad}\nspec: {replicas: 20, image: 3}\n`,
    );
    assert.notEqual(bad.code, 0);
    assert.match(bad.out, /The CronTab "bad" is invalid: \n/);
    assert.match(
      bad.out,
      /spec\.image: Invalid value: "integer": spec\.image in body must be of type string: "integer"/,
    );
    assert.match(
      bad.out,
      /spec\.replicas: Invalid value: 20: spec\.replicas in body should be less than or equal to 10/,
    );
    const unknown = await kubectl(
      ["apply", "-f", "-"],
      `apiVersion: ${GROUP}/v1\nkind: CronTab\nmetadata: {name: unknown}\nspec: {color: red}\n`,
    );
    assert.notEqual(unknown.code, 0);
    assert.match(
      unknown.out,
      /CronTab in version "v1" cannot be handled as a CronTab: strict decoding error: unknown field "spec\.color"/,
    );
    await ok(
      ["apply", "--validate=false", "-f", "-"],
      `apiVersion: ${GROUP}/v1\nkind: CronTab\nmetadata: {name: pruned}\nspec: {color: red}\n`,
    );
    assert.equal(await ok(["get", "ct", "pruned", "-o", "jsonpath={.spec}"]), '{"replicas":1}');
  });

  test("kubectl explain reads the CRD's schema from /openapi/v3", async () => {
    const out = await ok(["explain", "crontab.spec"]);
    assert.match(out, /KIND:\s+CronTab/);
    assert.match(out, /cronSpec\s+<string>/);
    assert.match(out, /replicas\s+<integer>/);
  });

  test("kubectl scale sets the replicas through the scale subresource", async () => {
    await ok(["apply", "-f", "-"], cronTab("scaled"));
    await ok(["scale", "crontab/scaled", "--replicas=3"]);
    assert.equal(await ok(["get", "ct", "scaled", "-o", "jsonpath={.spec.replicas}"]), "3");
  });

  test("merge and JSON patches apply; strategic merge is refused with 415 as kube refuses it", async () => {
    await ok(["apply", "-f", "-"], cronTab("patched"));
    await ok(["patch", "ct", "patched", "--type=merge", "-p", '{"spec":{"image":"merged"}}']);
    await ok([
      "patch",
      "ct",
      "patched",
      "--type=json",
      "-p",
      '[{"op":"replace","path":"/spec/cronSpec","value":"@daily"}]',
    ]);
    assert.equal(
      await ok(["get", "ct", "patched", "-o", "jsonpath={.spec.image} {.spec.cronSpec}"]),
      "merged @daily",
    );
    const r = await kubectl(["patch", "ct", "patched", "-p", '{"spec":{"image":"x"}}']);
    assert.notEqual(r.code, 0);
    assert.match(
      r.out,
      /the body of the request was in an unknown format - accepted media types include: application\/json-patch\+json, application\/merge-patch\+json, application\/apply-patch\+yaml/,
    );
  });

  test("server-side apply creates and updates a custom resource", async () => {
    await ok(["apply", "--server-side", "-f", "-"], cronTab("applied", 2));
    assert.equal(await ok(["get", "ct", "applied", "-o", "jsonpath={.spec.replicas}"]), "2");
  });

  test("kubectl delete crd removes its objects and stops serving them", async () => {
    await ok(["apply", "-f", "-"], cronTab("doomed"));
    await ok(["delete", "crd", `crontabs.${GROUP}`, "--wait=true", "--timeout=20s"]);
    assert.deepEqual(api.server.registry.ctx.store.list(`/${GROUP}/crontabs/`).items, []);
    const r = await kubectl(["get", "crontabs.v1.stable.example.com"]);
    assert.notEqual(r.code, 0);
    // kubectl's discovery cache may still name the resource; the server answers 404 either way.
    assert.match(r.out, /NotFound|the server doesn't have a resource type "crontabs"/);
  });
});

describe("CustomResourceDefinitions with @kubernetes/client-node", () => {
  let api: TestApiServer;
  let kc: k8s.KubeConfig;
  let custom: k8s.CustomObjectsApi;
  let ext: k8s.ApiextensionsV1Api;
  const ref = { group: "widgets.example.com", version: "v1", plural: "widgets" };

  before(async () => {
    api = await startTestApiServer();
    kc = new k8s.KubeConfig();
    kc.loadFromString(api.kubeconfig);
    custom = kc.makeApiClient(k8s.CustomObjectsApi);
    ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
    await ext.createCustomResourceDefinition({
      body: {
        apiVersion: "apiextensions.k8s.io/v1",
        kind: "CustomResourceDefinition",
        metadata: { name: "widgets.widgets.example.com" },
        spec: {
          group: "widgets.example.com",
          scope: "Cluster",
          names: { plural: "widgets", kind: "Widget" },
          versions: [
            {
              name: "v1",
              served: true,
              storage: true,
              schema: {
                openAPIV3Schema: { type: "object", x_kubernetes_preserve_unknown_fields: true },
              },
            },
          ],
        },
      },
    });
    await waitFor(
      async () => {
        const crd = await ext.readCustomResourceDefinition({ name: "widgets.widgets.example.com" });
        return crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True");
      },
      { what: "the Widget CRD to be Established" },
    );
  });
  after(async () => {
    await api?.stop();
  });

  test("CustomObjectsApi creates, reads, lists, patches, watches and deletes cluster-scoped objects", async () => {
    const events: string[] = [];
    const watch = new k8s.Watch(kc);
    const req = await watch.watch(
      "/apis/widgets.example.com/v1/widgets",
      {},
      (type, obj: { metadata: { name: string } }) => events.push(`${type} ${obj.metadata.name}`),
      () => {},
    );
    try {
      await custom.createClusterCustomObject({
        ...ref,
        body: {
          apiVersion: "widgets.example.com/v1",
          kind: "Widget",
          metadata: { name: "w1" },
          size: 1,
        },
      });
      const got = (await custom.getClusterCustomObject({ ...ref, name: "w1" })) as { size: number };
      assert.equal(got.size, 1);
      await custom.patchClusterCustomObject(
        { ...ref, name: "w1", body: { size: 2 } },
        k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
      );
      const list = (await custom.listClusterCustomObject(ref)) as {
        items: Array<{ size: number }>;
      };
      assert.deepEqual(
        list.items.map((i) => i.size),
        [2],
      );
      await custom.deleteClusterCustomObject({ ...ref, name: "w1" });
      await waitFor(() => events.includes("DELETED w1"), { what: "the watch to see w1 deleted" });
      assert.deepEqual(events, ["ADDED w1", "MODIFIED w1", "DELETED w1"]);
    } finally {
      req.abort();
    }
  });

  test("several served versions share one storage version (None conversion)", async () => {
    const schema = {
      openAPIV3Schema: { type: "object", x_kubernetes_preserve_unknown_fields: true },
    };
    await ext.createCustomResourceDefinition({
      body: {
        apiVersion: "apiextensions.k8s.io/v1",
        kind: "CustomResourceDefinition",
        metadata: { name: "gadgets.widgets.example.com" },
        spec: {
          group: "widgets.example.com",
          scope: "Namespaced",
          names: { plural: "gadgets", kind: "Gadget" },
          versions: [
            { name: "v1beta1", served: true, storage: false, schema },
            { name: "v1", served: true, storage: true, schema },
          ],
        },
      },
    });
    const gadgets = (version: string) => ({
      group: "widgets.example.com",
      version,
      plural: "gadgets",
    });
    const created = await waitFor(
      () =>
        custom.createNamespacedCustomObject({
          ...gadgets("v1beta1"),
          namespace: "default",
          body: {
            apiVersion: "widgets.example.com/v1beta1",
            kind: "Gadget",
            metadata: { name: "g" },
            size: 1,
          },
        }),
      { what: "a Gadget created at v1beta1", retryErrors: true },
    );
    assert.equal((created as { apiVersion: string }).apiVersion, "widgets.example.com/v1beta1");
    const stored = api.server.registry.ctx.store.get("/widgets.example.com/gadgets/default/g");
    assert.equal(stored?.apiVersion, "widgets.example.com/v1");
    for (const version of ["v1", "v1beta1"]) {
      const got = (await custom.getNamespacedCustomObject({
        ...gadgets(version),
        namespace: "default",
        name: "g",
      })) as { apiVersion: string; size: number };
      assert.deepEqual([got.apiVersion, got.size], [`widgets.example.com/${version}`, 1]);
    }
  });

  test("deleting the CRD deletes its objects, then the CRD; creates are refused meanwhile", async () => {
    const widget = (name: string, finalizers?: string[]) => ({
      apiVersion: "widgets.example.com/v1",
      kind: "Widget",
      metadata: { name, ...(finalizers ? { finalizers } : {}) },
    });
    await custom.createClusterCustomObject({ ...ref, body: widget("w2", ["example.com/hold"]) });
    await ext.deleteCustomResourceDefinition({ name: "widgets.widgets.example.com" });
    const terminating = await waitFor(
      async () => {
        const crd = await ext.readCustomResourceDefinition({ name: "widgets.widgets.example.com" });
        return crd.status?.conditions?.find(
          (c) => c.type === "Terminating" && c.reason === "InstanceDeletionInProgress",
        );
      },
      { what: "the CRD to be Terminating with deletion in progress" },
    );
    assert.equal(terminating.status, "True");
    await assert.rejects(custom.createClusterCustomObject({ ...ref, body: widget("w3") }), (e) => {
      const body = JSON.parse((e as { body: string }).body) as { code: number; message: string };
      assert.equal(body.code, 405);
      assert.equal(
        body.message,
        "create not allowed while custom resource definition is terminating",
      );
      return true;
    });
    await custom.patchClusterCustomObject(
      { ...ref, name: "w2", body: { metadata: { finalizers: null } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
    await waitFor(
      async () => {
        try {
          await ext.readCustomResourceDefinition({ name: "widgets.widgets.example.com" });
          return false;
        } catch (e) {
          if ((e as { code?: number }).code === 404) return true;
          throw e;
        }
      },
      { what: "the CRD to be gone" },
    );
    const stored = api.server.registry.ctx.store.list("/widgets.example.com/widgets/").items;
    assert.deepEqual(stored, []);
  });
});
