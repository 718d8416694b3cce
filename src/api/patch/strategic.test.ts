import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isStatusError } from "../errors.ts";
import type { KubeObject } from "../types.ts";
import { applyStrategicMergePatch, supportsStrategicMergePatch } from "./strategic.ts";

const DEPLOY = { group: "apps", kind: "Deployment" };
const POD = { group: "", kind: "Pod" };

function deployment(): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", labels: { app: "web", tier: "front" }, finalizers: ["a", "b"] },
    spec: {
      replicas: 2,
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: {
          containers: [
            {
              name: "web",
              image: "nginx:1.25",
              args: ["-a", "-b"],
              volumeMounts: [],
              ports: [{ containerPort: 80 }, { containerPort: 8080 }],
              env: [
                { name: "A", value: "1" },
                { name: "B", value: "2" },
                { name: "C", value: "3" },
              ],
            },
            { name: "sidecar", image: "busybox" },
          ],
          tolerations: [{ key: "x", operator: "Exists" }],
          volumes: [{ name: "data", emptyDir: {} }],
        },
      },
    },
  };
}

/** Reads a dotted path with `name=` list lookups, e.g. `spec.template.spec.containers.name=web.image`. */
function at(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const step of path.split(".")) {
    if (cur === undefined || cur === null) return undefined;
    if (Array.isArray(cur)) {
      const [k, v] = step.split("=");
      cur = cur.find((e) => String((e as Record<string, unknown>)[k!]) === v);
    } else {
      cur = (cur as Record<string, unknown>)[step];
    }
  }
  return cur;
}

function hasDirective(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(hasDirective);
  if (v && typeof v === "object") {
    return Object.entries(v).some(([k, e]) => k.startsWith("$") || hasDirective(e));
  }
  return false;
}

const containers = "spec.template.spec.containers";

describe("applyStrategicMergePatch on a Deployment", () => {
  const cases: Array<{ name: string; patch: unknown; path: string; want: unknown }> = [
    {
      name: "kubectl's image change merges the container by name and keeps the others",
      patch: {
        spec: {
          template: {
            spec: {
              "$setElementOrder/containers": [{ name: "web" }, { name: "sidecar" }],
              containers: [{ name: "web", image: "nginx:1.26" }],
            },
          },
        },
      },
      path: containers,
      want: [
        {
          name: "web",
          image: "nginx:1.26",
          args: ["-a", "-b"],
          volumeMounts: [],
          ports: [{ containerPort: 80 }, { containerPort: 8080 }],
          env: [
            { name: "A", value: "1" },
            { name: "B", value: "2" },
            { name: "C", value: "3" },
          ],
        },
        { name: "sidecar", image: "busybox" },
      ],
    },
    {
      name: "kubectl's env removal deletes by name and keeps $setElementOrder's order",
      patch: {
        spec: {
          template: {
            spec: {
              "$setElementOrder/containers": [{ name: "web" }, { name: "sidecar" }],
              containers: [
                {
                  name: "web",
                  "$setElementOrder/env": [{ name: "C" }, { name: "A" }],
                  env: [{ $patch: "delete", name: "B" }],
                },
              ],
            },
          },
        },
      },
      path: `${containers}.name=web.env`,
      want: [
        { name: "C", value: "3" },
        { name: "A", value: "1" },
      ],
    },
    {
      name: "kubectl's port removal deletes by containerPort",
      patch: {
        spec: {
          template: {
            spec: {
              containers: [
                {
                  name: "web",
                  "$setElementOrder/ports": [{ containerPort: 80 }],
                  ports: [{ $patch: "delete", containerPort: 8080 }],
                },
              ],
            },
          },
        },
      },
      path: `${containers}.name=web.ports`,
      want: [{ containerPort: 80 }],
    },
    {
      name: "a new container comes before live-only ones, as kube orders merged lists",
      patch: { spec: { template: { spec: { containers: [{ name: "extra", image: "x" }] } } } },
      path: containers,
      want: [{ name: "extra", image: "x" }, ...(at(deployment(), containers) as unknown[])],
    },
    {
      name: "an env var added with $setElementOrder lands where the order says",
      patch: {
        spec: {
          template: {
            spec: {
              containers: [
                {
                  name: "web",
                  "$setElementOrder/env": [
                    { name: "A" },
                    { name: "N" },
                    { name: "B" },
                    { name: "C" },
                  ],
                  env: [{ name: "N", value: "new" }],
                },
              ],
            },
          },
        },
      },
      path: `${containers}.name=web.env`,
      want: [
        { name: "A", value: "1" },
        { name: "N", value: "new" },
        { name: "B", value: "2" },
        { name: "C", value: "3" },
      ],
    },
    {
      name: "args are replaced, not merged",
      patch: { spec: { template: { spec: { containers: [{ name: "web", args: ["-c"] }] } } } },
      path: `${containers}.name=web.args`,
      want: ["-c"],
    },
    {
      name: "tolerations are replaced",
      patch: { spec: { template: { spec: { tolerations: [{ key: "y" }] } } } },
      path: "spec.template.spec.tolerations",
      want: [{ key: "y" }],
    },
    {
      name: "null deletes a map key",
      patch: { metadata: { labels: { tier: null, new: "x" } } },
      path: "metadata.labels",
      want: { app: "web", new: "x" },
    },
    {
      name: "finalizers merge as a set",
      patch: { metadata: { finalizers: ["b", "c"] } },
      path: "metadata.finalizers",
      want: ["a", "b", "c"],
    },
    {
      name: "a new set member lands before live-only members, as kube orders merged lists",
      patch: { metadata: { finalizers: ["c"] } },
      path: "metadata.finalizers",
      want: ["c", "a", "b"],
    },
    {
      name: "$deleteFromPrimitiveList removes finalizers",
      patch: { metadata: { "$deleteFromPrimitiveList/finalizers": ["a"] } },
      path: "metadata.finalizers",
      want: ["b"],
    },
    {
      name: "$setElementOrder reorders a primitive list",
      patch: { metadata: { "$setElementOrder/finalizers": ["b", "a"] } },
      path: "metadata.finalizers",
      want: ["b", "a"],
    },
    {
      name: "kubectl's strategy switch uses $retainKeys to drop rollingUpdate",
      patch: {
        spec: { strategy: { $retainKeys: ["type"], rollingUpdate: null, type: "Recreate" } },
      },
      path: "spec.strategy",
      want: { type: "Recreate" },
    },
    {
      name: "$retainKeys drops keys the patch does not list even without nulls",
      patch: { spec: { strategy: { $retainKeys: ["type"], type: "Recreate" } } },
      path: "spec.strategy",
      want: { type: "Recreate" },
    },
    {
      name: "$patch: replace on a map replaces it whole",
      patch: {
        spec: {
          template: {
            $patch: "replace",
            metadata: { labels: { app: "web", rev: "1" } },
            spec: { containers: [{ name: "only", image: "i" }] },
          },
        },
      },
      path: "spec.template",
      want: {
        metadata: { labels: { app: "web", rev: "1" } },
        spec: { containers: [{ name: "only", image: "i" }] },
      },
    },
    {
      name: "$patch: delete on a map empties it",
      patch: { spec: { strategy: { $patch: "delete" } } },
      path: "spec.strategy",
      want: {},
    },
    {
      name: "$patch: replace as a list element replaces the list",
      patch: {
        spec: {
          template: { spec: { containers: [{ name: "solo", image: "s" }, { $patch: "replace" }] } },
        },
      },
      path: containers,
      want: [{ name: "solo", image: "s" }],
    },
    {
      name: "a directive inside a brand-new field does not survive",
      patch: {
        spec: {
          template: {
            spec: {
              initContainers: [
                {
                  name: "init",
                  env: [
                    { name: "X", value: "1" },
                    { $patch: "delete", name: "Y" },
                  ],
                },
              ],
            },
          },
        },
      },
      path: "spec.template.spec.initContainers",
      want: [{ name: "init", env: [{ name: "X", value: "1" }] }],
    },
    {
      name: "a value of another JSON type replaces the old one",
      patch: { spec: { replicas: "3" } },
      path: "spec.replicas",
      want: "3",
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const original = deployment();
      const before = structuredClone(original);
      const out = applyStrategicMergePatch(original, c.patch, DEPLOY);
      assert.deepEqual(at(out, c.path), c.want);
      assert.deepEqual(original, before, "original must not be mutated");
      assert.equal(hasDirective(out), false, "no directive may survive");
    });
  }

  it("accepts the patch as JSON text", () => {
    const out = applyStrategicMergePatch(deployment(), '{"spec":{"replicas":5}}', DEPLOY);
    assert.equal(at(out, "spec.replicas"), 5);
  });
});

describe("applyStrategicMergePatch on other kinds", () => {
  it("switches a pod volume's source with $retainKeys on the element", () => {
    const pod: KubeObject = {
      metadata: { name: "p" },
      spec: {
        volumes: [
          { name: "data", emptyDir: {} },
          { name: "other", emptyDir: {} },
        ],
      },
    };
    const out = applyStrategicMergePatch(
      pod,
      {
        spec: {
          volumes: [
            {
              $retainKeys: ["configMap", "name"],
              name: "data",
              configMap: { name: "cm" },
              emptyDir: null,
            },
          ],
        },
      },
      POD,
    );
    assert.deepEqual(at(out, "spec.volumes"), [
      { name: "data", configMap: { name: "cm" } },
      { name: "other", emptyDir: {} },
    ]);
  });

  it("merges Service ports by port and pod conditions by type", () => {
    const svc: KubeObject = {
      metadata: { name: "s" },
      spec: { ports: [{ port: 80, targetPort: 8080 }, { port: 443 }] },
    };
    const out = applyStrategicMergePatch(
      svc,
      { spec: { ports: [{ port: 80, targetPort: 9090 }] } },
      {
        group: "",
        kind: "Service",
      },
    );
    assert.deepEqual(at(out, "spec.ports"), [{ port: 80, targetPort: 9090 }, { port: 443 }]);

    const pod: KubeObject = {
      metadata: { name: "p" },
      status: {
        conditions: [
          { type: "Ready", status: "False" },
          { type: "Initialized", status: "True" },
        ],
      },
    };
    const patched = applyStrategicMergePatch(
      pod,
      { status: { conditions: [{ type: "Ready", status: "True" }] } },
      POD,
    );
    assert.deepEqual(at(patched, "status.conditions"), [
      { type: "Ready", status: "True" },
      { type: "Initialized", status: "True" },
    ]);
  });

  it("replaces Endpoints subsets and merges ownerReferences by uid", () => {
    const ep: KubeObject = {
      metadata: {
        name: "e",
        ownerReferences: [{ uid: "1", name: "a", kind: "K", apiVersion: "v1" }],
      },
      subsets: [{ addresses: [{ ip: "127.0.0.2" }] }],
    };
    const out = applyStrategicMergePatch(
      ep,
      {
        metadata: { ownerReferences: [{ uid: "2", name: "b", kind: "K", apiVersion: "v1" }] },
        subsets: [{ addresses: [{ ip: "127.0.0.3" }] }],
      },
      { group: "", kind: "Endpoints" },
    );
    assert.deepEqual(at(out, "subsets"), [{ addresses: [{ ip: "127.0.0.3" }] }]);
    assert.deepEqual(
      (at(out, "metadata.ownerReferences") as Array<{ uid: string }>).map((o) => o.uid),
      ["2", "1"],
    );
  });

  it("treats an unknown kind with maps merging and lists replacing", () => {
    const cr: KubeObject = { metadata: { name: "x" }, spec: { a: 1, list: [{ name: "a" }] } };
    const out = applyStrategicMergePatch(
      cr,
      { spec: { b: 2, list: [{ name: "b" }] } },
      {
        group: "example.com",
        kind: "Widget",
      },
    );
    assert.deepEqual(out.spec, { a: 1, b: 2, list: [{ name: "b" }] });
    assert.equal(supportsStrategicMergePatch({ group: "example.com", kind: "Widget" }), false);
    assert.equal(supportsStrategicMergePatch(DEPLOY), true);
  });
});

/**
 * kube-apiserver's patch handler (interpretStrategicMergePatchError) turns apimachinery's
 * malformed-directive errors into 400 BadRequest and lists of lists or a patch outside
 * retainKeys into 422 Invalid; every other merge error passes through unclassified, which its
 * error writer answers as 500 with no reason (StatusReasonUnknown).
 */
const REASON: Record<number, string> = { 400: "BadRequest", 422: "Invalid", 500: "" };

describe("applyStrategicMergePatch errors", () => {
  const cases: Array<{ name: string; patch: unknown; code: number; message: string | RegExp }> = [
    {
      name: "a patch that is not an object is a 400",
      patch: "[1]",
      code: 400,
      message: "json: cannot unmarshal array into Go value of type map[string]interface {}",
    },
    { name: "malformed JSON is a 400", patch: "{", code: 400, message: /JSON/ },
    {
      name: "$retainKeys that is not a list is a 400",
      patch: { spec: { strategy: { $retainKeys: "type" } } },
      code: 400,
      message: "invalid patch format of retainKeys",
    },
    {
      name: "a patch key outside $retainKeys is a 400",
      patch: { spec: { strategy: { $retainKeys: ["type"], rollingUpdate: {} } } },
      code: 400,
      message: "invalid patch format of retainKeys",
    },
    {
      name: "$deleteFromPrimitiveList that is not a list is a 400",
      patch: { metadata: { "$deleteFromPrimitiveList/finalizers": "a" } },
      code: 400,
      message: "invalid patch format of primitive list",
    },
    {
      name: "$setElementOrder that is not a list is a 400",
      patch: { metadata: { "$setElementOrder/finalizers": "a" } },
      code: 400,
      message: "invalid patch format of setElementOrder list",
    },
    {
      name: "$patch: merge in a list is refused as kube refuses it",
      patch: { spec: { template: { spec: { containers: [{ $patch: "merge", name: "web" }] } } } },
      code: 500,
      message: "merging lists cannot yet be specified in the patch",
    },
    {
      name: "an unknown $patch value in a map is refused",
      patch: { spec: { strategy: { $patch: "merge" } } },
      code: 500,
      message: "unknown patch type: merge in map: map[$patch:merge]",
    },
    {
      name: "a merge-list element without its merge key is refused",
      patch: { spec: { template: { spec: { containers: [{ image: "x" }] } } } },
      code: 500,
      message: "map: map[image:x] does not contain declared merge key: name",
    },
    {
      name: "a list of lists in a merge list is a 422",
      patch: {
        spec: { template: { spec: { containers: [{ name: "web", volumeMounts: [["x"]] }] } } },
      },
      code: 422,
      message: "the server rejected our request due to an error in our request",
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.throws(
        () => applyStrategicMergePatch(deployment(), c.patch, DEPLOY),
        (e: unknown) => {
          assert.ok(isStatusError(e), String(e));
          assert.equal(e.code, c.code);
          assert.equal(e.reason, REASON[c.code]);
          if (typeof c.message === "string") assert.equal(e.message, c.message);
          else assert.match(e.message, c.message);
          return true;
        },
      );
    });
  }
});

describe("applyStrategicMergePatch ordering matches kube's $setElementOrder results", () => {
  const POD_KIND = { group: "", kind: "Pod" };
  const names = (o: KubeObject) =>
    (o.spec as { containers: Array<{ name: string }> }).containers.map((c) => c.name);
  const pod = (containers: string[]): KubeObject => ({
    metadata: { name: "p" },
    spec: { containers: containers.map((name) => ({ name, image: `img-${name}` })) },
  });
  const order = (ns: string[]) => ns.map((name) => ({ name }));
  const cases: Array<{
    name: string;
    live: string[];
    patch: unknown[];
    order: string[];
    want: string[];
  }> = [
    {
      name: "deleting one live element while adding two keeps the other live one first",
      live: ["a", "d"],
      patch: [{ name: "b" }, { name: "c" }, { name: "a", $patch: "delete" }],
      order: ["b", "c"],
      want: ["d", "b", "c"],
    },
    {
      name: "an added element goes where the order says, live-only ones after",
      live: ["a", "c"],
      patch: [{ name: "b" }],
      order: ["a", "b"],
      want: ["a", "b", "c"],
    },
    {
      name: "ordered elements come before a live-only one they do not know",
      live: ["c"],
      patch: [{ name: "a" }, { name: "b" }],
      order: ["a", "b"],
      want: ["a", "b", "c"],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const out = applyStrategicMergePatch(
        pod(c.live),
        { spec: { "$setElementOrder/containers": order(c.order), containers: c.patch } },
        POD_KIND,
      );
      assert.deepEqual(names(out), c.want);
    });
  }
});
