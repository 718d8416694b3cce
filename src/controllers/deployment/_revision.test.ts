import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Deployment } from "kubernetes-types/apps/v1.js";
import {
  equalIgnoreHash,
  REVISION,
  REVISION_HISTORY,
  setNewReplicaSetAnnotations,
} from "./_revision.ts";

const d: Deployment = {
  metadata: {
    name: "web",
    annotations: {
      "kubernetes.io/change-cause": "kubectl set image",
      "kubectl.kubernetes.io/last-applied-configuration": "{}",
      [REVISION]: "7",
      team: "a",
    },
  },
  spec: { replicas: 4, selector: {}, template: {} },
};

describe("setNewReplicaSetAnnotations", () => {
  test("a new set gets the Deployment's annotations but kubectl's and the revision ones", () => {
    const a: Record<string, string> = {};
    assert.ok(setNewReplicaSetAnnotations(d, a, 3, { exists: false }));
    assert.deepEqual(a, {
      "kubernetes.io/change-cause": "kubectl set image",
      team: "a",
      [REVISION]: "3",
      "deployment.kubernetes.io/desired-replicas": "4",
      "deployment.kubernetes.io/max-replicas": "5",
    });
  });

  const cases: Array<{
    name: string;
    before: Record<string, string>;
    rev: number;
    history?: string;
    changed: boolean;
  }> = [
    {
      name: "a set rolled back to keeps its former revision in the history",
      before: { [REVISION]: "1" },
      rev: 3,
      history: "1",
      changed: true,
    },
    {
      name: "the history grows with each return",
      before: { [REVISION]: "3", [REVISION_HISTORY]: "1" },
      rev: 5,
      history: "1,3",
      changed: true,
    },
    {
      name: "a current revision is left alone",
      before: { [REVISION]: "5" },
      rev: 5,
      changed: false,
    },
    {
      name: "a higher revision is never lowered",
      before: { [REVISION]: "9" },
      rev: 5,
      changed: false,
    },
  ];
  for (const c of cases)
    test(c.name, () => {
      const a: Record<string, string> = {
        ...c.before,
        "kubernetes.io/change-cause": "kubectl set image",
        team: "a",
      };
      assert.equal(setNewReplicaSetAnnotations(d, a, c.rev, { exists: true }), c.changed);
      assert.equal(a[REVISION], String(Math.max(c.rev, Number(c.before[REVISION]))));
      assert.equal(a[REVISION_HISTORY], c.history);
      assert.equal(
        a["deployment.kubernetes.io/desired-replicas"],
        undefined,
        "only new sets get them here",
      );
    });

  test("the history is trimmed from the front to its character limit", () => {
    const a: Record<string, string> = { [REVISION]: "10", [REVISION_HISTORY]: "1,2,3,4" };
    setNewReplicaSetAnnotations(d, a, 11, { exists: true, historyMaxChars: 8 });
    assert.equal(a[REVISION_HISTORY], "2,3,4,10");
  });
});

describe("equalIgnoreHash", () => {
  test("templates differing only in pod-template-hash are equal", () => {
    const t = { metadata: { labels: { app: "web" } }, spec: { containers: [] } };
    const h = {
      metadata: { labels: { app: "web", "pod-template-hash": "abc" } },
      spec: { containers: [] },
    };
    assert.ok(equalIgnoreHash(t, h));
    assert.ok(!equalIgnoreHash(t, { ...h, spec: { containers: [{ name: "x" }] } }));
  });
});
