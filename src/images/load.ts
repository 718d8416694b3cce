/**
 * `loopkube load image`: images from a file or directory into the store, as `kind load
 * image-archive` takes them. Accepted: an OCI image layout (directory, or a tarball of one) and
 * a `docker save` tarball (its `manifest.json`; newer Docker writes an OCI layout beside it,
 * which is then preferred), gzip-compressed or not. Every blob is checked against its digest.
 *
 * Names: a layout entry's `io.containerd.image.name` annotation, else its
 * `org.opencontainers.image.ref.name` (a full reference, or a tag joined to `options.name`'s
 * repository); a `docker save` entry's `RepoTags`; `options.name` names an image that has none.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { copyFile, mkdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { extract } from "tar-stream";
import { openLayer, sniffCompression } from "./layer.ts";
import {
  choosePlatform,
  type Descriptor,
  hostPlatform,
  type ImageConfigFile,
  MEDIA,
  parseManifest,
} from "./manifest.ts";
import { formatReference, parseReference } from "./reference.ts";
import { fileSha256 } from "./registry.ts";
import type { ImageRecord, ImageStore, PreparedImage } from "./store.ts";
import { removeTree } from "./unpack.ts";

export interface LoadOptions {
  /** The reference for an image the file does not name (or whose name is a bare tag). */
  name?: string;
}

export class LoadError extends Error {
  override name = "LoadError";
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** Unpacks a (possibly gzip-compressed) tarball's regular files into `dir`. */
async function extractArchive(file: string, dir: string): Promise<void> {
  const ex = extract();
  const feeding = pipeline([...(await openLayer(file)), ex]);
  feeding.catch(() => {});
  for await (const entry of ex) {
    const parts = entry.header.name.split("/").filter((p) => p !== "" && p !== ".");
    if (entry.header.type !== "file" || parts.length === 0 || parts.includes("..")) {
      entry.resume();
      continue;
    }
    await mkdir(join(dir, ...parts.slice(0, -1)), { recursive: true });
    await pipeline(
      entry as unknown as AsyncIterable<Buffer>,
      createWriteStream(join(dir, ...parts)),
    );
  }
  await feeding;
}

/** Copies a file into the store as blob `digest` after checking its digest. */
async function importBlob(store: ImageStore, digest: string, file: string): Promise<void> {
  if (await store.hasBlob(digest)) return;
  const got = `sha256:${await fileSha256(file)}`;
  if (got !== digest) throw new LoadError(`${file}: digest ${got}, expected ${digest}`);
  const tmp = `${store.blobPath(digest)}.load-${process.pid}`;
  await copyFile(file, tmp);
  await store.adoptBlob(digest, tmp);
}

const sha = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

async function finish(
  store: ImageStore,
  digest: string,
  manifestDigest: string,
  configDesc: Descriptor,
  layers: Descriptor[],
  names: string[],
): Promise<PreparedImage[]> {
  const configFile = JSON.parse(
    (await store.readBlob(configDesc.digest)).toString("utf8"),
  ) as ImageConfigFile;
  await store.unpack(configDesc.digest, layers, configFile.rootfs?.diff_ids ?? []);
  const record: ImageRecord = {
    digest,
    manifestDigest,
    id: configDesc.digest,
    size: configDesc.size + layers.reduce((s, l) => s + l.size, 0),
    layers,
    config: store.imageConfigOf(configFile),
    created: new Date().toISOString(),
  };
  await store.writeRecord(record);
  const out: PreparedImage[] = [];
  for (const name of names) {
    await store.tag(name, digest);
    out.push(store.prepared(name, record));
  }
  if (names.length === 0) out.push(store.prepared(digest, record));
  return out;
}

function nameOf(
  annotations: Record<string, string> | undefined,
  fallback?: string,
): string | undefined {
  const full = annotations?.["io.containerd.image.name"];
  if (full) return formatReference(parseReference(full));
  const ref = annotations?.["org.opencontainers.image.ref.name"];
  if (ref) {
    if (/[/:@]/.test(ref)) {
      try {
        return formatReference(parseReference(ref));
      } catch {}
    }
    if (fallback) {
      const base = parseReference(fallback);
      return formatReference({ domain: base.domain, path: base.path, tag: ref });
    }
  }
  return fallback ? formatReference(parseReference(fallback)) : undefined;
}

async function loadLayout(
  store: ImageStore,
  dir: string,
  options: LoadOptions,
): Promise<PreparedImage[]> {
  const blob = (d: string) => join(dir, "blobs", ...d.split(":"));
  const index = parseManifest(await readFile(join(dir, "index.json")));
  if (index.kind !== "index") throw new LoadError("index.json is not an image index");
  const out: PreparedImage[] = [];
  for (const entry of index.index.manifests) {
    const name = nameOf(entry.annotations, options.name);
    await importBlob(store, entry.digest, blob(entry.digest));
    let parsed = parseManifest(await readFile(blob(entry.digest)), entry.mediaType);
    let manifestDigest = entry.digest;
    if (parsed.kind === "index") {
      const desc = choosePlatform(parsed.index, hostPlatform());
      if (!desc) throw new LoadError(`${entry.digest}: no manifest for this platform`);
      await importBlob(store, desc.digest, blob(desc.digest));
      parsed = parseManifest(await readFile(blob(desc.digest)), desc.mediaType);
      manifestDigest = desc.digest;
      if (parsed.kind !== "image") throw new LoadError("an index inside an index is not supported");
    }
    const m = parsed.manifest;
    for (const d of [m.config, ...m.layers]) await importBlob(store, d.digest, blob(d.digest));
    out.push(
      ...(await finish(
        store,
        entry.digest,
        manifestDigest,
        m.config,
        m.layers,
        name ? [name] : [],
      )),
    );
  }
  return out;
}

interface DockerSaveEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

async function loadDockerSave(
  store: ImageStore,
  dir: string,
  options: LoadOptions,
): Promise<PreparedImage[]> {
  const entries = JSON.parse(
    await readFile(join(dir, "manifest.json"), "utf8"),
  ) as DockerSaveEntry[];
  const out: PreparedImage[] = [];
  for (const e of entries) {
    const configBytes = await readFile(join(dir, e.Config));
    const config: Descriptor = {
      mediaType: MEDIA.dockerConfig,
      digest: sha(configBytes),
      size: configBytes.length,
    };
    await store.putBlob(config.digest, configBytes);
    const layers: Descriptor[] = [];
    for (const l of e.Layers) {
      const file = join(dir, l);
      const digest = `sha256:${await fileSha256(file)}`;
      await importBlob(store, digest, file);
      const kind = await sniffCompression(file);
      layers.push({
        mediaType:
          kind === "gzip"
            ? "application/vnd.docker.image.rootfs.diff.tar.gzip"
            : kind === "zstd"
              ? "application/vnd.oci.image.layer.v1.tar+zstd"
              : "application/vnd.docker.image.rootfs.diff.tar",
        digest,
        size: (await stat(file)).size,
      });
    }
    const manifest = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.dockerManifest, config, layers }),
    );
    const digest = sha(manifest);
    await store.putBlob(digest, manifest);
    const names = (e.RepoTags ?? []).map((t) => formatReference(parseReference(t)));
    if (names.length === 0 && options.name)
      names.push(formatReference(parseReference(options.name)));
    out.push(...(await finish(store, digest, digest, config, layers, names)));
  }
  return out;
}

/** Loads every image in `path` (an OCI layout directory or an archive) into `store`. */
export async function loadImages(
  store: ImageStore,
  path: string,
  options: LoadOptions = {},
): Promise<PreparedImage[]> {
  const st = await stat(path).catch(() => undefined);
  if (!st) throw new LoadError(`${path}: no such file or directory`);
  await store.ensureReady();
  let dir = path;
  let tmp: string | undefined;
  if (!st.isDirectory()) {
    tmp = join(store.root, "tmp", `load-${process.pid}-${Date.now()}`);
    await mkdir(tmp, { recursive: true });
    dir = tmp;
    try {
      await extractArchive(path, tmp);
    } catch (e) {
      await removeTree(tmp);
      throw new LoadError(`${path}: not a tar archive: ${(e as Error).message}`);
    }
  }
  try {
    if (await exists(join(dir, "index.json"))) return await loadLayout(store, dir, options);
    if (await exists(join(dir, "manifest.json"))) return await loadDockerSave(store, dir, options);
    throw new LoadError(
      `${path}: neither an OCI image layout (index.json) nor a docker save archive (manifest.json)`,
    );
  } finally {
    if (tmp) await removeTree(tmp);
  }
}
