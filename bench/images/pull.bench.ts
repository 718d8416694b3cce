/**
 * Image pull + unpack: loopkube's image store (`ensure`, policy Always, into an empty store)
 * against `skopeo copy` (registry → OCI layout) + `umoci unpack` (layout → root), the same image
 * from the same loopback registry (Debian's docker-registry), in one run, alternating, each
 * into a fresh directory; the median of each. Also the cost of `ensure` for an image already
 * present (what every container start pays with IfNotPresent).
 *
 * The image: busybox-static plus a layer of many small files and a few larger ones (file count
 * is what unpacking pays for; bytes are what digests and gunzip pay for).
 *
 * Run: node --import tsx bench/images/pull.bench.ts [--quick]
 *
 * @module
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  buildBusyboxLayout,
  imageToolsMissing,
  skopeoCopy,
  startRegistry,
} from "../../src/_testing/index.ts";
import { openImageStore } from "../../src/images/index.ts";
import { type Line, percentile, startResult } from "../_result.ts";

const run = promisify(execFile);
const quick = process.argv.includes("--quick");
const ROUNDS = quick ? 3 : 5;
const FILES = quick ? 1000 : 3000;
const result = startResult("image-pull", { quick });

const missing = imageToolsMissing(["docker-registry", "skopeo", "umoci"]);
if (missing.length > 0) {
  console.log(`image-pull: skipped, needs ${missing.join(", ")}`);
  result.done([]);
  process.exit(0);
}

const work = mkdtempSync(join(tmpdir(), "lk-bench-images-"));
const registry = await startRegistry();
try {
  const files: Record<string, string> = {};
  for (let i = 0; i < FILES; i++)
    files[`usr/share/data/${i % 50}/f${i}.txt`] = `file ${i} `.repeat(40 + (i % 200));
  for (let i = 0; i < 4; i++) {
    let s = "";
    let x = i + 1;
    for (let j = 0; j < 300_000; j++) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      s += (x % 1000).toString(36);
    }
    files[`usr/lib/blob${i}.bin`] = s;
  }
  const layout = await buildBusyboxLayout(join(work, "layout"), { tag: "1", extraLayer: files });
  const image = `${registry.host}/bench/app:1`;
  await skopeoCopy(`oci:${layout.dir}:1`, `docker://${image}`);

  const ours: number[] = [];
  const theirs: number[] = [];
  const warm: number[] = [];
  let size = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const storeDir = join(work, `store-${round}`);
    let t = performance.now();
    const store = openImageStore({ root: storeDir, dockerConfig: false });
    const prepared = await store.ensure(image, { policy: "Always" });
    ours.push(performance.now() - t);
    size = prepared.size;
    for (let i = 0; i < 20; i++) {
      t = performance.now();
      await openImageStore({ root: storeDir, dockerConfig: false }).ensure(image, {
        policy: "IfNotPresent",
      });
      warm.push(performance.now() - t);
    }
    rmSync(storeDir, { recursive: true, force: true });

    const oci = join(work, `oci-${round}`);
    const bundle = join(work, `bundle-${round}`);
    t = performance.now();
    await run("skopeo", [
      "--insecure-policy",
      "copy",
      "--quiet",
      "--src-tls-verify=false",
      `docker://${image}`,
      `oci:${oci}:1`,
    ]);
    await run("umoci", [
      "unpack",
      ...(process.getuid?.() === 0 ? [] : ["--rootless"]),
      "--image",
      `${oci}:1`,
      bundle,
    ]);
    theirs.push(performance.now() - t);
    rmSync(oci, { recursive: true, force: true });
    rmSync(bundle, { recursive: true, force: true });
  }
  const med = (xs: number[]) => Math.round(percentile(xs, 50) * 10) / 10;
  const lines: Line[] = [
    {
      measure: `pull + unpack, ${(size / 1e6).toFixed(1)} MB image, ${FILES + 30} files (cold store)`,
      value: med(ours),
      unit: "ms",
      better: "lower",
      detail: `median of ${ROUNDS}; ours ${ours.map((x) => Math.round(x)).join("/")}, skopeo+umoci ${theirs.map((x) => Math.round(x)).join("/")}`,
      anchor: { value: med(theirs), source: "measured: skopeo copy + umoci unpack, same registry" },
    },
    {
      measure: "ensure of an image already present (IfNotPresent)",
      value: Math.round(percentile(warm, 50) * 100) / 100,
      unit: "ms",
      better: "lower",
      detail: `p99 ${percentile(warm, 99).toFixed(2)} ms over ${warm.length}`,
    },
  ];
  for (const l of lines)
    console.log(
      `${l.measure}: ${l.value} ${l.unit}${l.anchor ? ` vs ${l.anchor.value} ${l.unit} (ratio ${(l.anchor.value / l.value).toFixed(2)})` : ""} — ${l.detail ?? ""}`,
    );
  console.log(result.done(lines));
} finally {
  await registry.stop();
  rmSync(work, { recursive: true, force: true });
}
