import assert from "node:assert/strict";
import { test } from "node:test";
import type { EndpointSlice } from "kubernetes-types/discovery/v1.js";
import { SliceTracker } from "./_tracker.ts";

const KEY = "default/web";
function slice(name: string, rv: number): EndpointSlice {
  return {
    addressType: "IPv4",
    metadata: { name, namespace: "default", resourceVersion: String(rv) },
    endpoints: [],
  };
}

test("SliceTracker.isOwnEcho recognises exactly the writes and deletes it recorded", () => {
  const cases: Array<{
    name: string;
    record: (t: SliceTracker) => void;
    event: EndpointSlice;
    deleted: boolean;
    want: boolean;
  }> = [
    {
      name: "nothing written",
      record: () => {},
      event: slice("a", 5),
      deleted: false,
      want: false,
    },
    {
      name: "the slice as written",
      record: (t) => t.wrote(KEY, slice("a", 5)),
      event: slice("a", 5),
      deleted: false,
      want: true,
    },
    {
      name: "someone wrote after us",
      record: (t) => t.wrote(KEY, slice("a", 5)),
      event: slice("a", 6),
      deleted: false,
      want: false,
    },
    {
      name: "another slice of the Service",
      record: (t) => t.wrote(KEY, slice("a", 5)),
      event: slice("b", 5),
      deleted: false,
      want: false,
    },
    {
      name: "the slice we deleted",
      record: (t) => t.deleted(KEY, slice("a", 5)),
      event: slice("a", 5),
      deleted: true,
      want: true,
    },
    {
      name: "a slice deleted that we had updated",
      record: (t) => t.wrote(KEY, slice("a", 5)),
      event: slice("a", 5),
      deleted: true,
      want: false,
    },
  ];
  for (const c of cases) {
    const t = new SliceTracker();
    c.record(t);
    assert.equal(t.isOwnEcho(KEY, c.event, c.deleted), c.want, c.name);
  }
});

test("SliceTracker.view prefers its own newer write and forgets it once the cache caught up", () => {
  const t = new SliceTracker();
  t.wrote(KEY, slice("a", 7));
  assert.equal(t.view(KEY, [slice("a", 6)])[0]?.metadata?.resourceVersion, "7");
  assert.equal(t.view(KEY, [slice("a", 7)])[0]?.metadata?.resourceVersion, "7");
  assert.equal(t.isOwnEcho(KEY, slice("a", 7), false), false, "forgotten after catching up");
});
