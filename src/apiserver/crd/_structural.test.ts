import assert from "node:assert/strict";
import { test } from "node:test";
import { checkStructural } from "./_structural.ts";

const P = "spec.versions[0].schema.openAPIV3Schema";

function check(schema: Record<string, unknown>): string[] {
  return checkStructural(schema, P).map((e) => `${e.field}: ${e.message}`);
}

test("checkStructural accepts structural schemas, int-or-string's anyOf and value junctors", () => {
  const cases: Array<Record<string, unknown>> = [
    { type: "object" },
    {
      type: "object",
      properties: {
        metadata: { type: "object", properties: { name: { type: "string", maxLength: 20 } } },
        spec: {
          type: "object",
          properties: {
            port: {
              "x-kubernetes-int-or-string": true,
              anyOf: [{ type: "integer" }, { type: "string" }],
            },
            a: { type: "string" },
            b: { type: "string" },
            list: {
              type: "array",
              "x-kubernetes-list-type": "map",
              "x-kubernetes-list-map-keys": ["name"],
              items: {
                type: "object",
                required: ["name"],
                properties: { name: { type: "string" } },
              },
            },
            free: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
          },
          oneOf: [{ required: ["a"] }, { required: ["b"] }],
          not: { properties: { a: { pattern: "^x" } } },
        },
      },
    },
  ];
  for (const schema of cases) assert.deepEqual(check(schema), [], JSON.stringify(schema));
});

test("checkStructural refuses what kube's structural check refuses, with kube's messages", () => {
  const cases: Array<[string, Record<string, unknown>, string[]]> = [
    [
      "a type inside oneOf",
      {
        type: "object",
        properties: { spec: { type: "object", oneOf: [{ type: "string" }, { type: "integer" }] } },
      },
      [
        `${P}.properties[spec].oneOf[0].type: Forbidden: must be empty to be structural`,
        `${P}.properties[spec].oneOf[1].type: Forbidden: must be empty to be structural`,
      ],
    ],
    [
      "a property only defined under not",
      { type: "object", not: { properties: { d: { pattern: "x" } } } },
      [`${P}.properties[d]: Required value: because it is defined in ${P}.not.properties[d]`],
    ],
    [
      "defaults, descriptions and extensions under allOf",
      {
        type: "object",
        properties: { a: { type: "string" } },
        allOf: [
          {
            properties: { a: { default: "x", description: "d" } },
            "x-kubernetes-preserve-unknown-fields": true,
          },
        ],
      },
      [
        `${P}.allOf[0].properties[a].default: Forbidden: must be undefined to be structural`,
        `${P}.allOf[0].properties[a].description: Forbidden: must be empty to be structural`,
        `${P}.allOf[0].x-kubernetes-preserve-unknown-fields: Forbidden: must be false to be structural`,
      ],
    ],
    [
      "metadata under a junctor",
      {
        type: "object",
        properties: { metadata: { type: "object" } },
        anyOf: [{ properties: { metadata: {} } }],
      },
      [`${P}.anyOf[0].properties[metadata]: Forbidden: must not be specified in a nested context`],
    ],
    [
      "fields without a type, an array without items",
      {
        type: "object",
        properties: { a: {}, l: { type: "array" }, m: { type: "array", items: {} } },
      },
      [
        `${P}.properties[a].type: Required value: must not be empty for specified object fields`,
        `${P}.properties[l].items: Required value: must be specified`,
        `${P}.properties[m].items.type: Required value: must not be empty for specified array items`,
      ],
    ],
    [
      "the root",
      { type: "string", additionalProperties: { type: "string" } },
      [
        `${P}.additionalProperties: Forbidden: must not be used at the root`,
        `${P}.type: Invalid value: "string": must be object at the root`,
      ],
    ],
    [
      "an empty root type",
      { properties: { a: { type: "string" } } },
      [`${P}.type: Required value: must not be empty at the root`],
    ],
    [
      "metadata restricting more than names",
      {
        type: "object",
        properties: { metadata: { type: "object", properties: { labels: { type: "object" } } } },
      },
      [
        `${P}.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified`,
      ],
    ],
    [
      "list and map extensions",
      {
        type: "object",
        properties: {
          a: { type: "array", items: { type: "string" }, "x-kubernetes-list-type": "bag" },
          b: { type: "array", items: { type: "object" }, "x-kubernetes-list-type": "map" },
          c: {
            type: "array",
            items: { type: "object", properties: { id: { type: "string" } } },
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"],
          },
          d: { type: "object", "x-kubernetes-map-type": "loose" },
          f: {
            type: "array",
            items: {
              type: "object",
              properties: { id: { type: "string", nullable: true } },
            },
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["id"],
          },
          e: { type: "array", items: { type: "string" }, uniqueItems: true },
        },
      },
      [
        `${P}.properties[a].x-kubernetes-list-type: Unsupported value: "bag": supported values: "atomic", "set", "map"`,
        `${P}.properties[b].x-kubernetes-list-map-keys: Required value: must not be empty if x-kubernetes-list-type is map`,
        `${P}.properties[c].items.properties[name]: Required value: must have all properties listed in x-kubernetes-list-map-keys`,
        `${P}.properties[d].x-kubernetes-map-type: Unsupported value: "loose": supported values: "granular", "atomic"`,
        `${P}.properties[e].uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic`,
        `${P}.properties[f].items.properties[id].default: Required value: this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property`,
        `${P}.properties[f].items.properties[id].nullable: Forbidden: this property is in x-kubernetes-list-map-keys, so it cannot be nullable`,
      ],
    ],
  ];
  for (const [name, schema, want] of cases) assert.deepEqual(check(schema), want, name);
});
