import assert from "node:assert/strict";
import type { ServerResponse } from "node:http";
import { describe, test } from "node:test";
import { StatusError } from "../../api/errors.ts";
import { sendJson } from "./respond.ts";

/** A body V8 cannot turn into one string, as a 150,000-row Table or YAML list can be. */
const tooLong = {
  toJSON() {
    throw new RangeError("Invalid string length");
  },
};

describe("sendJson", () => {
  for (const yaml of [false, true]) {
    test(`sendJson answers a clear InternalError Status when the ${yaml ? "YAML" : "JSON"} body is too long to encode`, () => {
      const res = { headersSent: false } as ServerResponse;
      assert.throws(
        () => sendJson(res, 200, yaml ? { items: [tooLong] } : tooLong, { yaml }),
        (e: unknown) =>
          e instanceof StatusError &&
          e.code === 500 &&
          /too large to encode as one (JSON|YAML) document.*limit and continue/.test(e.message),
      );
    });
  }
});
