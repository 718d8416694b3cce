import assert from "node:assert/strict";
import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import { pack } from "tar-stream";
import { applyLayer, finishUnpack, newUnpackState } from "./unpack.ts";

type Entry = {
  name: string;
  type?: "file" | "directory" | "symlink" | "link";
  body?: string;
  linkname?: string;
  mode?: number;
};

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  for (const e of entries) {
    const { body, ...header } = e;
    if (header.type === undefined || header.type === "file")
      p.entry({ ...header, type: "file" }, body ?? "");
    else p.entry(header);
  }
  p.finalize();
  for await (const chunk of p) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function unpack(layers: Entry[][], gzip = true): Promise<string> {
  const work = mkdtempSync(join(tmpdir(), "unpack-"));
  const root = join(work, "root");
  const state = newUnpackState();
  let i = 0;
  for (const layer of layers) {
    const tar = await tarOf(layer);
    const file = join(work, `layer${i++}`);
    writeFileSync(file, gzip ? gzipSync(tar) : tar);
    await import("node:fs/promises").then((fs) => fs.mkdir(root, { recursive: true }));
    await applyLayer(root, file, state);
  }
  await finishUnpack(state);
  return root;
}

test("applyLayer stacks layers with whiteouts and opaque directories", async () => {
  const root = await unpack([
    [
      { name: "etc/", type: "directory", mode: 0o755 },
      { name: "etc/a", body: "a1" },
      { name: "etc/b", body: "b1" },
      { name: "data/", type: "directory" },
      { name: "data/old", body: "x" },
      { name: "data/sub/deep", body: "y" },
    ],
    [
      { name: "etc/.wh.a" },
      { name: "etc/b", body: "b2" },
      { name: "data/new", body: "n" },
      { name: "data/.wh..wh..opq" },
      { name: "etc/.wh.missing" },
    ],
  ]);
  try {
    assert.equal(existsSync(join(root, "etc/a")), false);
    assert.equal(readFileSync(join(root, "etc/b"), "utf8"), "b2");
    assert.equal(readFileSync(join(root, "data/new"), "utf8"), "n");
    assert.equal(existsSync(join(root, "data/old")), false);
    assert.equal(existsSync(join(root, "data/sub")), false);
    assert.equal(existsSync(join(root, "etc/.wh.missing")), false);
  } finally {
    rmSync(join(root, ".."), { recursive: true, force: true });
  }
});

test("applyLayer keeps every path inside the root, whatever the symlinks say", async () => {
  const root = await unpack(
    [
      [
        { name: "etc/passwd", body: "root:x:0:0::/:/bin/sh\n" },
        { name: "up", type: "symlink", linkname: "../../../../.." },
        { name: "abs", type: "symlink", linkname: "/etc" },
        { name: "up/escaped", body: "caught" },
        { name: "abs/hosts", body: "127.0.0.1 localhost\n" },
        { name: "../../dots", body: "d" },
        { name: "bin/busybox", body: "#!", mode: 0o755 },
        { name: "bin/sh", type: "link", linkname: "bin/busybox" },
        { name: "bin/ls", type: "symlink", linkname: "busybox" },
        { name: "bin/evil", type: "link", linkname: "up/../../etc/passwd" },
      ],
    ],
    false,
  );
  try {
    assert.equal(readFileSync(join(root, "escaped"), "utf8"), "caught");
    assert.equal(readFileSync(join(root, "etc/hosts"), "utf8"), "127.0.0.1 localhost\n");
    assert.equal(readFileSync(join(root, "dots"), "utf8"), "d");
    assert.equal(lstatSync(join(root, "bin/sh")).ino, lstatSync(join(root, "bin/busybox")).ino);
    assert.equal(lstatSync(join(root, "bin/busybox")).mode & 0o777, 0o755);
    assert.equal(readlinkSync(join(root, "bin/ls")), "busybox");
    assert.equal(lstatSync(join(root, "bin/evil")).ino, lstatSync(join(root, "etc/passwd")).ino);
    assert.equal(readlinkSync(join(root, "up")), "../../../../..");
  } finally {
    rmSync(join(root, ".."), { recursive: true, force: true });
  }
});

test("applyLayer replaces a file by a directory and a directory by a symlink", async () => {
  const root = await unpack([
    [
      { name: "x", body: "file" },
      { name: "y/inner", body: "i" },
    ],
    [
      { name: "x/", type: "directory" },
      { name: "x/z", body: "z" },
      { name: "y", type: "symlink", linkname: "x" },
    ],
  ]);
  try {
    assert.equal(readFileSync(join(root, "x/z"), "utf8"), "z");
    assert.equal(readlinkSync(join(root, "y")), "x");
  } finally {
    rmSync(join(root, ".."), { recursive: true, force: true });
  }
});

test("applyLayer refuses a layer whose uncompressed digest differs from the config", async () => {
  const work = mkdtempSync(join(tmpdir(), "unpack-"));
  try {
    writeFileSync(join(work, "l"), await tarOf([{ name: "a", body: "a" }]));
    await assert.rejects(
      applyLayer(work, join(work, "l"), newUnpackState(), `sha256:${"0".repeat(64)}`),
      /uncompressed digest/,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
