import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeObject } from "../../api/types.ts";
import { desiredStatuses } from "./_conditions.ts";

const NOW = "2026-01-01T00:00:00Z";

function crd(
  name: string,
  created: string,
  names: Record<string, unknown>,
  status?: object,
): KubeObject {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name, creationTimestamp: created },
    spec: { group: "example.com", scope: "Namespaced", names, versions: [] },
    ...(status ? { status } : {}),
  };
}

function conditions(status: object | undefined) {
  return (
    status as {
      conditions: Array<{ type: string; status: string; reason: string; message: string }>;
    }
  ).conditions.map((c) => `${c.type}=${c.status} ${c.reason}: ${c.message}`);
}

test("desiredStatuses accepts the names of a new CRD and establishes it", () => {
  const out = desiredStatuses([crd("as.example.com", NOW, { plural: "as", kind: "A" })], NOW);
  const status = out.get("as.example.com");
  assert.deepEqual(conditions(status), [
    "NamesAccepted=True NoConflicts: no conflicts found",
    "Established=True InitialNamesAccepted: the initial names have been accepted",
  ]);
  assert.deepEqual((status as { acceptedNames: unknown }).acceptedNames, {
    plural: "as",
    kind: "A",
  });
});

test("desiredStatuses refuses names another CRD of the group holds, oldest first", () => {
  const cases: Array<{ names: Record<string, unknown>; want: string }> = [
    { names: { plural: "as", kind: "B" }, want: 'NameConflict: "as" is already in use' },
    {
      names: { plural: "bs", shortNames: ["x"], kind: "B" },
      want: 'NameConflict: "x" is already in use',
    },
    { names: { plural: "bs", kind: "A" }, want: 'KindConflict: "A" is already in use' },
  ];
  for (const c of cases) {
    const older = crd("as.example.com", "2026-01-01T00:00:00Z", {
      plural: "as",
      kind: "A",
      shortNames: ["x"],
    });
    const newer = crd("bs.example.com", "2026-01-01T00:00:01Z", c.names);
    const status = desiredStatuses([newer, older], NOW).get("bs.example.com");
    assert.deepEqual(conditions(status), [
      `NamesAccepted=False ${c.want}`,
      "Established=False NotAccepted: not all names are accepted",
    ]);
  }
});

test("desiredStatuses leaves a CRD whose status is already right out of the answer", () => {
  const first = desiredStatuses([crd("as.example.com", NOW, { plural: "as", kind: "A" })], NOW);
  const settled = crd(
    "as.example.com",
    NOW,
    { plural: "as", kind: "A" },
    first.get("as.example.com"),
  );
  assert.equal(desiredStatuses([settled], "2026-01-02T00:00:00Z").size, 0);
});

test("desiredStatuses marks a deleted CRD Terminating with deletion in progress", () => {
  const c = crd("as.example.com", NOW, { plural: "as", kind: "A" });
  c.metadata.deletionTimestamp = NOW;
  const status = desiredStatuses([c], NOW).get("as.example.com");
  assert.ok(
    conditions(status).includes(
      "Terminating=True InstanceDeletionInProgress: CustomResource deletion is in progress",
    ),
  );
});
