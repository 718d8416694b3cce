import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { internalError } from "../api/errors.ts";
import type { KubeObject } from "../api/types.ts";
import type { ResourceRef } from "../api/verbs.ts";
import { FakeClock } from "./_testing/clock.ts";
import { FakeApi } from "./_testing/fake.ts";
import { createEventRecorder } from "./events.ts";

const EVENTS: ResourceRef = { group: "", version: "v1", resource: "events" };

const pod: KubeObject = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "web-1", namespace: "prod", uid: "uid-1", resourceVersion: "42" },
};
const node: KubeObject = { apiVersion: "v1", kind: "Node", metadata: { name: "n1", uid: "uid-n" } };

function setup() {
  const api = new FakeApi();
  const clock = new FakeClock(Date.parse("2030-01-02T03:04:05Z"));
  const errors: unknown[] = [];
  const recorder = createEventRecorder(api, {
    component: "kubelet",
    host: "n1",
    clock,
    onError: (e) => errors.push(e),
  });
  const events = async (ns = "") => (await api.list(EVENTS, ns)).items;
  return { api, clock, recorder, errors, events };
}

describe("EventRecorder", () => {
  it("writes a core/v1 Event about the object", async () => {
    const { recorder, events } = setup();
    recorder.event(pod, "Warning", "BackOff", "Back-off restarting failed container");
    await recorder.flush();
    const [e, ...rest] = await events("prod");
    assert.equal(rest.length, 0);
    assert.match(e!.metadata.name ?? "", /^web-1\.[0-9a-f]+$/);
    assert.equal(e!.metadata.namespace, "prod");
    assert.deepEqual(e!.involvedObject, {
      kind: "Pod",
      namespace: "prod",
      name: "web-1",
      uid: "uid-1",
      apiVersion: "v1",
      resourceVersion: "42",
    });
    assert.equal(e!.reason, "BackOff");
    assert.equal(e!.message, "Back-off restarting failed container");
    assert.equal(e!.type, "Warning");
    assert.deepEqual(e!.source, { component: "kubelet", host: "n1" });
    assert.equal(e!.reportingComponent, "kubelet");
    assert.equal(e!.reportingInstance, "n1");
    assert.equal(e!.firstTimestamp, "2030-01-02T03:04:05Z");
    assert.equal(e!.lastTimestamp, "2030-01-02T03:04:05Z");
    assert.equal(e!.count, 1);
  });

  it("puts events about cluster-scoped objects in the default namespace", async () => {
    const { recorder, events } = setup();
    recorder.event(node, "Normal", "NodeReady", "Node n1 status is now: NodeReady");
    await recorder.flush();
    const [e] = await events("default");
    assert.equal(e?.metadata.namespace, "default");
    assert.deepEqual(e?.involvedObject, {
      kind: "Node",
      name: "n1",
      uid: "uid-n",
      apiVersion: "v1",
    });
  });

  it("aggregates repeats into one Event by patching count and lastTimestamp", async () => {
    const { api, clock, recorder, events } = setup();
    recorder.event(pod, "Normal", "Pulled", "Container image already present");
    await clock.advance(10_000);
    recorder.event(pod, "Normal", "Pulled", "Container image already present");
    await clock.advance(10_000);
    recorder.event(pod, "Normal", "Pulled", "Container image already present");
    await recorder.flush();
    const all = await events();
    assert.equal(all.length, 1);
    assert.equal(all[0]!.count, 3);
    assert.equal(all[0]!.firstTimestamp, "2030-01-02T03:04:05Z");
    assert.equal(all[0]!.lastTimestamp, "2030-01-02T03:04:25Z");
    const verbs = api.calls.filter((c) => c.ref.resource === "events").map((c) => c.verb);
    assert.deepEqual(verbs, ["create", "patch", "patch", "list"]);
    assert.equal(api.calls[1]!.args[1], "strategic");
  });

  it("points an Event at a part of the object with fieldPath, and aggregates per part", async () => {
    const { recorder, events } = setup();
    recorder.event(pod, "Normal", "Started", "Started container", {
      fieldPath: "spec.containers{app}",
    });
    recorder.event(pod, "Normal", "Started", "Started container", {
      fieldPath: "spec.containers{app}",
    });
    recorder.event(pod, "Normal", "Started", "Started container", {
      fieldPath: "spec.containers{sidecar}",
    });
    await recorder.flush();
    const all = await events("prod");
    assert.deepEqual(
      all.map((e) => [(e.involvedObject as { fieldPath?: string }).fieldPath, e.count]).sort(),
      [
        ["spec.containers{app}", 2],
        ["spec.containers{sidecar}", 1],
      ],
    );
  });

  it("writes a separate Event for another reason or message", async () => {
    const { recorder, events } = setup();
    recorder.event(pod, "Normal", "Pulled", "a");
    recorder.event(pod, "Normal", "Pulled", "b");
    recorder.event(pod, "Normal", "Created", "a");
    await recorder.flush();
    assert.equal((await events()).length, 3);
  });

  it("creates the Event again when the one being aggregated is gone", async () => {
    const { api, recorder, events } = setup();
    recorder.event(pod, "Normal", "Pulled", "x");
    await recorder.flush();
    const [first] = await events();
    await api.delete(EVENTS, "prod", first!.metadata.name!);
    recorder.event(pod, "Normal", "Pulled", "x");
    await recorder.flush();
    const [again, ...rest] = await events();
    assert.equal(rest.length, 0);
    assert.equal(again!.metadata.name, first!.metadata.name);
    assert.equal(again!.count, 2);
  });

  it("never throws into the caller and reports write failures", async () => {
    const { api, recorder, errors, events } = setup();
    api.failNext("create", internalError("etcd down"));
    assert.doesNotThrow(() => recorder.event(pod, "Warning", "Failed", "x"));
    await recorder.flush();
    assert.equal(errors.length, 1);
    recorder.event(pod, "Warning", "Failed", "x");
    await recorder.flush();
    const [e] = await events();
    assert.equal(e?.count, 1, "a failed first write is not counted");
  });

  it("drops events beyond a burst of 25 per object and refills one every 5 minutes", async () => {
    const { clock, recorder, events } = setup();
    for (let i = 0; i < 30; i++) recorder.event(pod, "Normal", `R${i}`, "m");
    recorder.event(node, "Normal", "Other", "m");
    await recorder.flush();
    assert.equal((await events("prod")).length, 25);
    assert.equal((await events("default")).length, 1, "other objects have their own bucket");
    await clock.advance(5 * 60 * 1000);
    recorder.event(pod, "Normal", "Late1", "m");
    recorder.event(pod, "Normal", "Late2", "m");
    await recorder.flush();
    assert.equal((await events("prod")).length, 26);
  });
});
