import assert from "node:assert/strict";
import { test } from "node:test";
import { choosePlatform, MEDIA, parseManifest } from "./manifest.ts";

const d = (n: string) => `sha256:${n.repeat(64)}`;

test("choosePlatform picks the host's os and architecture, never an attestation", () => {
  const index = {
    schemaVersion: 2,
    manifests: [
      {
        mediaType: MEDIA.ociManifest,
        digest: d("0"),
        size: 1,
        platform: { os: "unknown", architecture: "unknown" },
      },
      {
        mediaType: MEDIA.ociManifest,
        digest: d("1"),
        size: 1,
        platform: { os: "linux", architecture: "arm", variant: "v7" },
      },
      {
        mediaType: MEDIA.ociManifest,
        digest: d("2"),
        size: 1,
        platform: { os: "linux", architecture: "arm64", variant: "v8" },
      },
      {
        mediaType: MEDIA.ociManifest,
        digest: d("3"),
        size: 1,
        platform: { os: "linux", architecture: "amd64" },
      },
    ],
  };
  const cases: [string, string, string | undefined, string | undefined][] = [
    ["linux", "amd64", undefined, d("3")],
    ["linux", "arm64", undefined, d("2")],
    ["linux", "arm", "v7", d("1")],
    ["linux", "arm", "v6", undefined],
    ["windows", "amd64", undefined, undefined],
  ];
  for (const [os, architecture, variant, want] of cases)
    assert.equal(
      choosePlatform(index, { os, architecture, ...(variant && { variant }) })?.digest,
      want,
      `${os}/${architecture}/${variant}`,
    );
});

test("parseManifest tells an index from an image manifest and refuses schema 1", () => {
  const idx = parseManifest(
    Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.dockerList, manifests: [] })),
  );
  assert.equal(idx.kind, "index");
  const img = parseManifest(
    Buffer.from(JSON.stringify({ schemaVersion: 2, config: { digest: d("a") }, layers: [] })),
    MEDIA.ociManifest,
  );
  assert.equal(img.kind, "image");
  assert.throws(() => parseManifest(Buffer.from(JSON.stringify({ schemaVersion: 1 }))), /schema 1/);
  assert.throws(() => parseManifest(Buffer.from("nope")), /not JSON/);
});
