import assert from "node:assert/strict";
import { test } from "node:test";
import type { StatefulSet } from "kubernetes-types/apps/v1.js";
import type { Pod } from "kubernetes-types/core/v1.js";
import { claimPods } from "./_adopt.ts";

const set: StatefulSet = {
  metadata: { name: "web", uid: "me" },
  spec: { selector: { matchLabels: { app: "web" } }, template: {}, serviceName: "" },
};

function pod(name: string, app: string, owner?: string, deleting = false): Pod {
  return {
    metadata: {
      name,
      labels: { app },
      ...(owner
        ? {
            ownerReferences: [
              {
                apiVersion: "apps/v1",
                kind: "StatefulSet",
                name: "x",
                uid: owner,
                controller: true,
              },
            ],
          }
        : {}),
      ...(deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}),
    },
  };
}

test("claimPods keeps, adopts and releases as kube's ref manager does", () => {
  const cases: Array<[string, Pod, "keep" | "adopt" | "release" | "none"]> = [
    ["owned and matching", pod("web-0", "web", "me"), "keep"],
    ["orphan, matching, a member name", pod("web-1", "web"), "adopt"],
    ["orphan with another set's name", pod("db-1", "web"), "none"],
    ["orphan being deleted", pod("web-2", "web", undefined, true), "none"],
    ["orphan not matching", pod("web-3", "other"), "none"],
    ["owned but no longer matching", pod("web-4", "other", "me"), "release"],
    ["owned by someone else", pod("web-5", "web", "them"), "none"],
  ];
  for (const [what, p, want] of cases) {
    const c = claimPods(set, [p]);
    const got = c.keep.length
      ? "keep"
      : c.adopt.length
        ? "adopt"
        : c.release.length
          ? "release"
          : "none";
    assert.equal(got, want, what);
  }
});

test("claimPods adopts nothing for a set being deleted", () => {
  const deleting = {
    ...set,
    metadata: { ...set.metadata, deletionTimestamp: "2026-01-01T00:00:00Z" },
  };
  assert.deepEqual(claimPods(deleting, [pod("web-1", "web")]).adopt, []);
});
