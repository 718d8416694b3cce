import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ListParser } from "./_listparse.ts";

function parseIn(chunks: Buffer[]): unknown {
  const p = new ListParser();
  for (const c of chunks) p.push(c);
  return p.end();
}

/** Every way of cutting `bytes` in two, plus one byte at a time. */
function splits(bytes: Buffer): Buffer[][] {
  const out: Buffer[][] = [[bytes], [...bytes].map((b) => Buffer.from([b]))];
  for (let i = 1; i < bytes.length; i++) out.push([bytes.subarray(0, i), bytes.subarray(i)]);
  return out;
}

const pod = (name: string) => ({
  metadata: { name, labels: { "a/b": 'q"uo\\te' } },
  spec: { volumes: [{ configMap: { items: [{ key: "k", path: "p" }] } }] },
  status: { message: "naïve “ünïcode” 🚀 \u2028 ]}[{" },
});

describe("ListParser gives what JSON.parse of the whole body gives", () => {
  const cases: { name: string; body: unknown; pretty?: boolean }[] = [
    {
      name: "an empty list",
      body: { kind: "PodList", metadata: { resourceVersion: "1" }, items: [] },
    },
    {
      name: "a list page with continue and escapes, multi-byte text and nested items keys",
      body: {
        apiVersion: "v1",
        kind: "PodList",
        metadata: { resourceVersion: "9", continue: 'x"items":[', remainingItemCount: 3 },
        items: [pod("a"), pod("b"), pod("c")],
      },
    },
    {
      name: "members after items and items as a value elsewhere",
      body: { kind: "items", metadata: { items: [1, 2] }, items: [{ a: [] }, {}], z: "items" },
    },
    { name: "a body without items (a Status)", body: { kind: "Status", code: 200, details: {} } },
    {
      name: "pretty-printed JSON",
      body: { kind: "PodList", items: [pod("a"), pod("b")], metadata: {} },
      pretty: true,
    },
  ];
  for (const c of cases) {
    test(`${c.name}, however the bytes are split`, () => {
      const bytes = Buffer.from(
        c.pretty ? JSON.stringify(c.body, null, 2) : JSON.stringify(c.body),
      );
      for (const chunks of splits(bytes)) assert.deepEqual(parseIn(chunks), c.body);
    });
  }
});

describe("ListParser rejects what is not a list", () => {
  const cases: { name: string; text: string }[] = [
    { name: "a truncated body", text: '{"kind":"PodList","items":[{"a":1},{"b"' },
    { name: "an unterminated string", text: '{"kind":"PodList' },
    { name: "items that are not objects", text: '{"items":[1,2]}' },
    { name: "a malformed item", text: '{"items":[{"a":}]}' },
  ];
  for (const c of cases) {
    test(`ListParser throws a SyntaxError for ${c.name}`, () => {
      assert.throws(() => parseIn([Buffer.from(c.text)]), SyntaxError);
    });
  }
});
