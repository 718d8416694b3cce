import assert from "node:assert/strict";
import { test } from "node:test";
import { type JsonSchema, pruneAndDefault, validateSchema } from "./_schema.ts";

const SCHEMA: JsonSchema = {
  type: "object",
  properties: {
    spec: {
      type: "object",
      required: ["name"],
      properties: {
        name: { type: "string", maxLength: 5, pattern: "^[a-z]+$" },
        size: { type: "integer", minimum: 1, default: 2 },
        mode: { type: "string", enum: ["a", "b"] },
        port: { "x-kubernetes-int-or-string": true },
        tags: { type: "array", maxItems: 1, items: { type: "string" } },
        labels: { type: "object", additionalProperties: { type: "string" } },
        free: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
        template: { type: "object", "x-kubernetes-embedded-resource": true, properties: {} },
      },
    },
  },
};

test("pruneAndDefault drops undeclared fields, keeps preserved ones and fills defaults", () => {
  const obj = {
    apiVersion: "x/v1",
    kind: "X",
    metadata: { name: "n", anything: 1 },
    extra: 1,
    spec: {
      name: "a",
      other: 1,
      free: { deep: { x: 1 } },
      labels: { k: "v" },
      template: { apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: {} },
    },
  };
  const out: string[] = [];
  pruneAndDefault(obj, SCHEMA, true, { path: "", out });
  assert.deepEqual(obj, {
    apiVersion: "x/v1",
    kind: "X",
    metadata: { name: "n", anything: 1 },
    spec: {
      name: "a",
      size: 2,
      free: { deep: { x: 1 } },
      labels: { k: "v" },
      template: { apiVersion: "v1", kind: "Pod", metadata: { name: "p" } },
    },
  });
  assert.deepEqual(out, ["extra", "spec.other", "spec.template.spec"]);
});

test("validateSchema reports kube's field paths and messages", () => {
  const cases: Array<[unknown, string[]]> = [
    [{ name: "ok", size: 3, mode: "a", port: 80, tags: ["x"] }, []],
    [{ name: "ok", port: "http" }, []],
    [{}, ["spec.name: Required value"]],
    [
      { name: 3 },
      ['spec.name: Invalid value: "integer": spec.name in body must be of type string: "integer"'],
    ],
    [{ name: "toolong" }, ["spec.name: Too long: may not be more than 5 bytes"]],
    [{ name: "A" }, [`spec.name: Invalid value: "A": spec.name in body should match '^[a-z]+$'`]],
    [
      { name: "a", size: 0 },
      ["spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1"],
    ],
    [{ name: "a", mode: "c" }, ['spec.mode: Unsupported value: "c": supported values: "a", "b"']],
    [
      { name: "a", port: true },
      [
        'spec.port: Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean"',
      ],
    ],
    [{ name: "a", tags: ["x", "y"] }, ["spec.tags: Too many: 2: must have at most 1 items"]],
    [
      { name: "a", labels: { k: 1 } },
      [
        'spec.labels.k: Invalid value: "integer": spec.labels.k in body must be of type string: "integer"',
      ],
    ],
  ];
  for (const [spec, want] of cases) {
    const got = validateSchema({ apiVersion: "x/v1", kind: "X", metadata: {}, spec }, SCHEMA).map(
      (e) => `${e.field}: ${e.message}`,
    );
    assert.deepEqual(got, want, JSON.stringify(spec));
  }
});

test("validateSchema checks the string formats kube validates and ignores the others", () => {
  const cases: Array<[string, string, boolean]> = [
    ["uuid", "7e0a3c3e-4b4f-4d7e-9a61-1b2c3d4e5f60", true],
    ["uuid", "7E0A3C3E4B4F4D7E9A611B2C3D4E5F60", true],
    ["uuid", "not-a-uuid", false],
    ["uuid4", "7e0a3c3e-4b4f-3d7e-9a61-1b2c3d4e5f60", false],
    ["date-time", "2024-02-29T10:00:00Z", true],
    ["date-time", "2024-02-29T10:00:00.123+01:00", true],
    ["date-time", "2023-02-29T10:00:00Z", false],
    ["date", "2024-12-31", true],
    ["date", "2024-13-01", false],
    ["email", "dev@example.com", true],
    ["email", "dev.example.com", false],
    ["ipv4", "10.0.0.1", true],
    ["ipv4", "10.0.0.256", false],
    ["ipv6", "fe80::1", true],
    ["ipv6", "10.0.0.1", false],
    ["cidr", "10.0.0.0/8", true],
    ["cidr", "10.0.0.0/33", false],
    ["mac", "00:1a:2b:3c:4d:5e", true],
    ["mac", "001a.2b3c.4d5e", true],
    ["mac", "00:1a:2b:3c:4d", false],
    ["hostname", "web-1.example.com", true],
    ["hostname", "-web", false],
    ["uri", "https://example.com/a?b=c", true],
    ["uri", "example.com", false],
    ["byte", "aGVsbG8=", true],
    ["byte", "aGVsbG8", false],
    ["duration", "1h30m", true],
    ["duration", "3 days", true],
    ["duration", "soon", false],
    ["bsonobjectid", "507f1f77bcf86cd799439011", true],
    ["bsonobjectid", "507f1f77", false],
    ["isbn", "978-0321751041", true],
    ["isbn10", "0321751043", true],
    ["isbn10", "0321751044", false],
    ["creditcard", "4111 1111 1111 1111", true],
    ["creditcard", "4111 1111 1111 1112", false],
    ["ssn", "123-45-6789", true],
    ["hexcolor", "#FFF", true],
    ["hexcolor", "#FFFF", false],
    ["rgbcolor", "rgb(255, 0, 10)", true],
    ["rgbcolor", "rgb(256,0,0)", false],
    ["password", "anything at all", true],
    ["int32", "not checked", true],
    ["something-else", "not checked", true],
  ];
  for (const [format, value, valid] of cases) {
    const schema: JsonSchema = { type: "object", properties: { x: { type: "string", format } } };
    const got = validateSchema({ x: value }, schema).map((e) => `${e.field}: ${e.message}`);
    const want = valid
      ? []
      : [
          `x: Invalid value: ${JSON.stringify(value)}: x in body must be of type ${format}: ${JSON.stringify(value)}`,
        ];
    assert.deepEqual(got, want, `${format} ${value}`);
  }
});

test("validateSchema runs allOf, anyOf, oneOf and not with go-openapi's messages", () => {
  const spec = (extra: JsonSchema): JsonSchema => ({
    type: "object",
    properties: {
      spec: {
        type: "object",
        properties: { a: { type: "string" }, b: { type: "string" }, n: { type: "integer" } },
        ...extra,
      },
    },
  });
  const cases: Array<{ name: string; schema: JsonSchema; value: unknown; want: string[] }> = [
    {
      name: "oneOf: exactly one alternative holds",
      schema: spec({ oneOf: [{ required: ["a"] }, { required: ["b"] }] }),
      value: { a: "x" },
      want: [],
    },
    {
      name: "oneOf: two hold",
      schema: spec({ oneOf: [{ required: ["a"] }, { required: ["b"] }] }),
      value: { a: "x", b: "y" },
      want: [
        '<nil>: Invalid value: "": "spec" must validate one and only one schema (oneOf). Found 2 valid alternatives',
      ],
    },
    {
      name: "oneOf: none holds, with the closest alternative's errors",
      schema: spec({ oneOf: [{ required: ["a"] }, { required: ["b"] }] }),
      value: {},
      want: [
        '<nil>: Invalid value: "": "spec" must validate one and only one schema (oneOf). Found none valid',
        "spec.a: Required value",
      ],
    },
    {
      name: "anyOf: none holds",
      schema: spec({ anyOf: [{ required: ["a"] }, { properties: { n: { minimum: 5 } } }] }),
      value: { n: 1 },
      want: [
        '<nil>: Invalid value: "": "spec" must validate at least one schema (anyOf)',
        "spec.a: Required value",
      ],
    },
    {
      name: "anyOf: one holds",
      schema: spec({ anyOf: [{ required: ["a"] }, { properties: { n: { minimum: 5 } } }] }),
      value: { n: 6 },
      want: [],
    },
    {
      name: "allOf: one fails",
      schema: spec({ allOf: [{ required: ["a"] }, { required: ["b"] }] }),
      value: { a: "x" },
      want: [
        "spec.b: Required value",
        '<nil>: Invalid value: "": "spec" must validate all the schemas (allOf)',
      ],
    },
    {
      name: "allOf: none holds",
      schema: spec({ allOf: [{ required: ["a"] }, { required: ["b"] }] }),
      value: {},
      want: [
        "spec.a: Required value",
        "spec.b: Required value",
        '<nil>: Invalid value: "": "spec" must validate all the schemas (allOf). None validated',
      ],
    },
    {
      name: "not: the forbidden schema holds",
      schema: spec({ not: { required: ["a", "b"] } }),
      value: { a: "x", b: "y" },
      want: ['<nil>: Invalid value: "": "spec" must not validate the schema (not)'],
    },
    {
      name: "not: it does not",
      schema: spec({ not: { required: ["a", "b"] } }),
      value: { a: "x" },
      want: [],
    },
    {
      name: "value validations under a junctor reach nested fields",
      schema: spec({ allOf: [{ properties: { a: { pattern: "^z" } } }] }),
      value: { a: "x" },
      want: [
        `spec.a: Invalid value: "x": spec.a in body should match '^z'`,
        '<nil>: Invalid value: "": "spec" must validate all the schemas (allOf). None validated',
      ],
    },
  ];
  for (const c of cases) {
    const got = validateSchema({ spec: c.value }, c.schema).map((e) => `${e.field}: ${e.message}`);
    assert.deepEqual(got, c.want, c.name);
  }
});

test("validateSchema refuses repeated items of set lists and repeated keys of map lists", () => {
  const schema: JsonSchema = {
    type: "object",
    properties: {
      tags: { type: "array", "x-kubernetes-list-type": "set", items: { type: "string" } },
      ports: {
        type: "array",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["name", "protocol"],
        items: {
          type: "object",
          properties: {
            name: { type: "string" },
            protocol: { type: "string", default: "TCP" },
            port: { type: "integer" },
          },
        },
      },
      free: { type: "array", items: { type: "string" } },
    },
  };
  const cases: Array<[unknown, string[]]> = [
    [{ tags: ["a", "b"], free: ["a", "a"] }, []],
    [
      { tags: ["a", "b", "a", "a"] },
      ['tags[2]: Duplicate value: "a"', 'tags[3]: Duplicate value: "a"'],
    ],
    [
      {
        ports: [
          { name: "http", port: 80 },
          { name: "http", protocol: "UDP", port: 80 },
          { name: "http", protocol: "TCP", port: 81 },
        ],
      },
      ['ports[2]: Duplicate value: map[string]interface {}{"name":"http", "protocol":"TCP"}'],
    ],
  ];
  for (const [value, want] of cases) {
    const got = validateSchema(value, schema).map((e) => `${e.field}: ${e.message}`);
    assert.deepEqual(got, want, JSON.stringify(value));
  }
});
