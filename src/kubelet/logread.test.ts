import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { LOG_BLOCK_BYTES, LogCursor, parseCriLine, tailStart } from "./logread.ts";

const root = mkdtempSync(join(tmpdir(), "loopkube-logread-"));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const file = (content: string | Buffer) => {
  const p = join(root, `${n++}.log`);
  writeFileSync(p, content);
  return p;
};

const lines: [string, ReturnType<typeof parseCriLine>][] = [
  [
    "2026-01-01T00:00:00.000000001Z stdout F one two",
    { time: "2026-01-01T00:00:00.000000001Z", stream: "stdout", partial: false, text: "one two" },
  ],
  [
    "2026-01-01T00:00:01.000000000Z stderr P par",
    { time: "2026-01-01T00:00:01.000000000Z", stream: "stderr", partial: true, text: "par" },
  ],
  [
    "2026-01-01T00:00:03.000000000Z stdout F ",
    { time: "2026-01-01T00:00:03.000000000Z", stream: "stdout", partial: false, text: "" },
  ],
  [
    "2026-01-01T00:00:03.000000000Z stdout F",
    { time: "2026-01-01T00:00:03.000000000Z", stream: "stdout", partial: false, text: "" },
  ],
  ["not a record", undefined],
  ["2026-01-01T00:00:03.000000000Z stdin F x", undefined],
  ["2026-01-01T00:00:03.000000000Z stdout X x", undefined],
  ["", undefined],
];
for (const [line, want] of lines) {
  test(`parseCriLine reads ${JSON.stringify(line)}`, () => {
    assert.deepEqual(parseCriLine(line), want);
  });
}

const tails: [string, string, number, string][] = [
  ["the last line", "a\nb\nc\n", 1, "c\n"],
  ["the last two lines", "a\nb\nc\n", 2, "b\nc\n"],
  ["everything when it asks for more", "a\nb\nc\n", 9, "a\nb\nc\n"],
  ["nothing but the unfinished end for 0", "a\nb\nc", 0, "c"],
  ["the last complete line and the unfinished one", "a\nb\nc", 1, "b\nc"],
  ["nothing of an empty file", "", 3, ""],
];
for (const [what, content, count, want] of tails) {
  test(`tailStart finds ${what}`, async () => {
    const p = file(content);
    const fh = await open(p, "r");
    try {
      const start = await tailStart(fh, content.length, count);
      assert.equal(content.slice(start), want);
    } finally {
      await fh.close();
    }
  });
}

test("tailStart reads only the end of a large file, a block at a time", async () => {
  const line = `${"x".repeat(99)}\n`;
  const p = file(line.repeat(200_000)); // 20 MB
  const fh = await open(p, "r");
  let read = 0;
  const counting = {
    read: (async (buf: Buffer, offset: number, length: number, position: number) => {
      read += length;
      return fh.read(buf, offset, length, position);
    }) as typeof fh.read,
  };
  try {
    const start = await tailStart(counting, 20_000_000, 3);
    assert.equal(start, 20_000_000 - 300);
    assert.equal(read, LOG_BLOCK_BYTES);
    read = 0;
    assert.equal(await tailStart(counting, 20_000_000, 1000), 20_000_000 - 100_000);
    assert.equal(read, 2 * LOG_BLOCK_BYTES);
  } finally {
    await fh.close();
  }
});

test("LogCursor gives whole lines, waits for the rest of an unfinished one, and follows a rotation", async () => {
  const p = file("one\ntw");
  const cursor = await LogCursor.open(p);
  try {
    assert.deepEqual(await cursor.next(), ["one"]);
    assert.deepEqual(await cursor.next(), []);
    appendFileSync(p, "o\nthree\n");
    assert.deepEqual(await cursor.next(), ["two", "three"]);
    // Rotation: the file is renamed aside (and written to a last time), a new one takes its name.
    appendFileSync(p, "four\n");
    renameSync(p, `${p}.20260101-000000`);
    appendFileSync(`${p}.20260101-000000`, "five\n");
    writeFileSync(p, "six\n");
    assert.deepEqual(await cursor.next(), ["four", "five"]);
    assert.deepEqual(await cursor.next(), ["six"]);
    assert.deepEqual(await cursor.next(), []);
    appendFileSync(p, "seven");
    assert.deepEqual(await cursor.next(), []);
    assert.deepEqual(await cursor.next(true), ["seven"]);
  } finally {
    await cursor.close();
  }
});

test("LogCursor opens at the end or at the last lines", async () => {
  const p = file("a\nb\nc\n");
  const atEnd = await LogCursor.open(p, "end");
  const atTail = await LogCursor.open(p, { tail: 2 });
  try {
    assert.deepEqual(await atEnd.next(), []);
    assert.deepEqual(await atTail.next(), ["b", "c"]);
    appendFileSync(p, "d\n");
    assert.deepEqual(await atEnd.next(), ["d"]);
  } finally {
    await atEnd.close();
    await atTail.close();
  }
});
