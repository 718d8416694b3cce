import assert from "node:assert/strict";
import { test } from "node:test";
import type { ControllerRevision } from "kubernetes-types/apps/v1.js";
import {
  applyRevision,
  equalRevisions,
  resolveRevisions,
  revisionData,
  revisionsToTruncate,
  sortedJson,
  sortRevisions,
} from "./_history.ts";

interface Owner {
  metadata: { name: string };
  spec: {
    selector: unknown;
    template: {
      metadata: { labels: Record<string, string> };
      spec: { containers: Array<{ name: string; image: string }> };
    };
  };
}

function owner(image: string): Owner {
  return {
    metadata: { name: "web" },
    spec: {
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ name: "c", image }] },
      },
    },
  };
}

/** A revision of `o` named by its image and the collision count, as a controller's `make` would. */
function make(o: Owner, revision: number, collisionCount: number): ControllerRevision {
  const image = o.spec.template.spec.containers[0]?.image ?? "";
  return {
    metadata: { name: `web-${image}-${collisionCount}` },
    data: revisionData(o),
    revision,
  };
}

const newRevision = make;
const set = owner;

test("sortedJson sorts keys at every level, as Go marshals a map", () => {
  assert.equal(
    sortedJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: null } }),
    '{"a":{"c":null,"d":[{"y":2,"z":1}]},"b":1}',
  );
});

test("revisionData holds the template as a replace patch, byte for byte as kubectl builds it", () => {
  const data = revisionData(owner("nginx:1"));
  assert.deepEqual(data, {
    spec: {
      template: {
        $patch: "replace",
        metadata: { creationTimestamp: null, labels: { app: "web" } },
        spec: { containers: [{ image: "nginx:1", name: "c", resources: {} }] },
      },
    },
  });
  // What kubectl's daemonSetMatch/statefulSetMatch compare the stored data with.
  assert.equal(
    JSON.stringify(data),
    '{"spec":{"template":{"$patch":"replace","metadata":{"creationTimestamp":null,"labels":{"app":"web"}},"spec":{"containers":[{"image":"nginx:1","name":"c","resources":{}}]}}}}',
  );
});

test("equalRevisions compares data only", () => {
  assert.ok(equalRevisions(newRevision(set("x"), 1, 0), newRevision(set("x"), 2, 5)));
  assert.ok(!equalRevisions(newRevision(set("x"), 1, 0), newRevision(set("y"), 1, 0)));
});

test("equalRevisions finds a revision stored without Go's always-written fields equal", () => {
  const stored: ControllerRevision = {
    metadata: { name: "web-old" },
    revision: 1,
    data: {
      spec: {
        template: {
          $patch: "replace",
          metadata: { labels: { app: "web" } },
          spec: { containers: [{ image: "x", name: "c" }] },
        },
      },
    },
  };
  assert.ok(equalRevisions(stored, newRevision(set("x"), 2, 0)));
  assert.ok(!equalRevisions(stored, newRevision(set("y"), 2, 0)));
});

test("applyRevision restores the recorded template", () => {
  const restored = applyRevision(set("nginx:2"), newRevision(set("nginx:1"), 1, 0));
  assert.deepEqual(restored.spec?.template, {
    metadata: { labels: { app: "web" } },
    spec: { containers: [{ image: "nginx:1", name: "c", resources: {} }] },
  });
  assert.deepEqual(restored.spec?.selector, { matchLabels: { app: "web" } });
});

const rev = (name: string, revision: number): ControllerRevision => ({
  metadata: { name },
  revision,
});

test("sortRevisions orders by revision number", () => {
  assert.deepEqual(
    sortRevisions([rev("c", 3), rev("a", 1), rev("b", 2)]).map((r) => r.metadata?.name),
    ["a", "b", "c"],
  );
});

test("revisionsToTruncate drops the oldest non-live revisions beyond the limit", () => {
  const all = [rev("r1", 1), rev("r2", 2), rev("r3", 3), rev("r4", 4), rev("r5", 5)];
  const cases: Array<[string[], number, string[]]> = [
    [["r5"], 2, ["r1", "r2"]],
    [["r5", "r1"], 2, ["r2"]],
    [["r5"], 10, []],
    [["r4", "r5"], 0, ["r1", "r2", "r3"]],
  ];
  for (const [live, limit, want] of cases) {
    assert.deepEqual(
      revisionsToTruncate(all, new Set(live), limit).map((r) => r.metadata?.name),
      want,
      `live ${live} limit ${limit}`,
    );
  }
});

/** A history store: revisions by name, with the calls made. */
function store(initial: ControllerRevision[]) {
  const byName = new Map(initial.map((r) => [r.metadata?.name ?? "", r]));
  const calls: string[] = [];
  return {
    calls,
    deps: {
      createRevision: async (r: ControllerRevision) => {
        calls.push(`create ${r.metadata?.name}`);
        if (byName.has(r.metadata?.name ?? "")) return undefined;
        byName.set(r.metadata?.name ?? "", r);
        return r;
      },
      getRevision: async (name: string) => byName.get(name),
      renumberRevision: async (r: ControllerRevision, to: number) => {
        calls.push(`renumber ${r.metadata?.name} ${to}`);
        const next = { ...r, revision: to };
        byName.set(r.metadata?.name ?? "", next);
        return next;
      },
    },
  };
}

test("resolveRevisions reuses, renumbers or creates the revision of the template", async () => {
  const v1 = make(owner("a"), 1, 0);
  const v2 = make(owner("b"), 2, 0);
  const squatter = { ...make(owner("c"), 1, 0), data: { other: true } };
  // [case, owned revisions, image now, calls, update name and revision, collision count]
  const cases: Array<[string, ControllerRevision[], string, string[], string, number, number]> = [
    ["first revision", [], "a", ["create web-a-0"], "web-a-0", 1, 0],
    ["template unchanged", [v1, v2], "b", [], "web-b-0", 2, 0],
    ["new template", [v1, v2], "c", ["create web-c-0"], "web-c-0", 3, 0],
    ["rollback renumbers", [v1, v2], "a", ["renumber web-a-0 3"], "web-a-0", 3, 0],
    [
      "name taken by other data",
      [squatter],
      "c",
      ["create web-c-0", "create web-c-1"],
      "web-c-1",
      2,
      1,
    ],
  ];
  for (const [name, owned, image, calls, update, revision, collisions] of cases) {
    const s = store(owned);
    const o = owner(image);
    const got = await resolveRevisions(owned, s.deps, {
      make: (rev, count) => make(o, rev, count),
    });
    assert.deepEqual(s.calls, calls, name);
    assert.equal(got.update.metadata?.name, update, name);
    assert.equal(got.update.revision, revision, name);
    assert.equal(got.collisionCount, collisions, name);
    assert.equal(got.current, got.update, name);
    assert.deepEqual(
      got.all.map((r) => r.revision),
      [...got.all.map((r) => r.revision)].sort((a, b) => a - b),
      name,
    );
  }
});

test("resolveRevisions reports the named current revision beside the update revision", async () => {
  const v1 = make(owner("a"), 1, 0);
  const s = store([v1]);
  const got = await resolveRevisions([v1], s.deps, {
    make: (rev, count) => make(owner("b"), rev, count),
    current: "web-a-0",
  });
  assert.equal(got.current.metadata?.name, "web-a-0");
  assert.equal(got.update.metadata?.name, "web-b-0");
});
