import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { KubeObject } from "../api/types.ts";
import { isReady } from "./wait.ts";

const obj = (kind: string, spec: object, status: object, generation = 1): KubeObject =>
  ({
    apiVersion: "apps/v1",
    kind,
    metadata: { name: "x", generation },
    spec,
    status,
  }) as KubeObject;

describe("isReady", () => {
  const cases: Array<[string, KubeObject, boolean]> = [
    [
      "a Deployment with every replica updated and available",
      obj(
        "Deployment",
        { replicas: 3 },
        { observedGeneration: 1, replicas: 3, updatedReplicas: 3, availableReplicas: 3 },
      ),
      true,
    ],
    [
      "a Deployment whose controller has not seen the new generation",
      obj(
        "Deployment",
        { replicas: 3 },
        { observedGeneration: 1, replicas: 3, updatedReplicas: 3, availableReplicas: 3 },
        2,
      ),
      false,
    ],
    [
      "a Deployment still running old replicas beside new ones",
      obj(
        "Deployment",
        { replicas: 3 },
        { observedGeneration: 1, replicas: 4, updatedReplicas: 3, availableReplicas: 3 },
      ),
      false,
    ],
    [
      "a StatefulSet with 2 of 3 ready",
      obj(
        "StatefulSet",
        { replicas: 3 },
        { observedGeneration: 1, readyReplicas: 2, updatedReplicas: 3 },
      ),
      false,
    ],
    [
      "a Pod with Ready True",
      obj("Pod", {}, { conditions: [{ type: "Ready", status: "True" }] }),
      true,
    ],
    ["a Pod without conditions", obj("Pod", {}, {}), false],
    [
      "a DaemonSet updated and available on every node",
      obj(
        "DaemonSet",
        {},
        {
          observedGeneration: 1,
          desiredNumberScheduled: 3,
          updatedNumberScheduled: 3,
          numberAvailable: 3,
        },
      ),
      true,
    ],
    [
      "a DaemonSet with one node still on the old template",
      obj(
        "DaemonSet",
        {},
        {
          observedGeneration: 1,
          desiredNumberScheduled: 3,
          updatedNumberScheduled: 2,
          numberAvailable: 3,
        },
      ),
      false,
    ],
    [
      "a ReplicationController with 1 of 2 ready",
      obj("ReplicationController", { replicas: 2 }, { observedGeneration: 1, readyReplicas: 1 }),
      false,
    ],
    ["a ConfigMap", obj("ConfigMap", {}, {}), true],
  ];
  for (const [what, o, ready] of cases) {
    test(`${what} is ${ready ? "" : "not "}ready`, () => assert.equal(isReady(o), ready));
  }
});
