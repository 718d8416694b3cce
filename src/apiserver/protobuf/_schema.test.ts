import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { schema } from "./_kinds.ts";
import { compileSchema, type FieldSpec, parseField } from "./_schema.ts";

describe("parseField", () => {
  const cases: [string, Partial<FieldSpec>][] = [
    [
      "name string",
      { json: "name", value: { kind: "scalar", type: "string" }, presence: "omitempty" },
    ],
    ["replicas int32?", { json: "replicas", presence: "pointer" }],
    ["containerPort int32!", { json: "containerPort", presence: "always" }],
    ["ports []ServicePort", { repeated: true, value: { kind: "message", name: "ServicePort" } }],
    ["containers []Container!", { repeated: true, presence: "always" }],
    ["data map<bytes>", { map: true, value: { kind: "scalar", type: "bytes" } }],
    ["limits map<Quantity>", { map: true, value: { kind: "special", type: "Quantity" } }],
    ["creationTimestamp Time", { value: { kind: "special", type: "Time" } }],
    [
      "... VolumeSource",
      { inline: true, json: "", value: { kind: "message", name: "VolumeSource" } },
    ],
  ];
  for (const [text, want] of cases) {
    it(`reads ${JSON.stringify(text)}`, () => {
      const got = parseField(text);
      for (const [k, v] of Object.entries(want)) assert.deepEqual(got[k as keyof FieldSpec], v);
    });
  }

  it("rejects a malformed description", () => {
    for (const bad of ["name", "name string?!", "x [](string)", "a map<>"]) {
      assert.throws(() => parseField(bad), /malformed/);
    }
  });
});

describe("compileSchema", () => {
  it("rejects a reference to a message no table describes", () => {
    assert.throws(() => compileSchema([{ A: { 1: "b B" } }]), /refers to undescribed B/);
  });

  it("rejects a message described twice", () => {
    assert.throws(() => compileSchema([{ A: {} }, { A: {} }]), /described twice/);
  });

  it("compiles the built-in tables with the fields kubectl's generators fill", () => {
    const field = (msg: string, n: number) => schema().get(msg)?.get(n)?.json;
    assert.equal(field("ObjectMeta", 1), "name");
    assert.equal(field("ObjectMeta", 11), "labels");
    assert.equal(field("DeploymentSpec", 1), "replicas");
    assert.equal(field("PodSpec", 2), "containers");
    assert.equal(field("ServiceSpec", 1), "ports");
    assert.equal(field("Secret", 2), "data");
    assert.equal(field("CronJobSpec", 1), "schedule");
  });
});
