/**
 * The content-addressed image store shared by every cluster of one user (default
 * `$XDG_DATA_HOME/loopkube/images`, else `~/.local/share/loopkube/images`):
 *
 *   blobs/sha256/<hex>   manifests, indexes, configs and layers, each verified before it lands
 *   roots/<hex>/         one unpacked root per image config (the image id): shared, never written
 *   images/<hex>.json    one record per resolved top-level digest (what a reference names)
 *   refs/<ref>.json      a reference (`docker.io/library/nginx:latest`) → that digest
 *   pending/<pid>-<n>    the digests a pull in progress uses (garbage collection keeps them)
 *   leases/<owner>/      the images running containers use (lease.ts): never removed
 *   tmp/, locks/
 *
 * Concurrency: every file lands by write-to-temp + rename; a blob is fetched and a root is
 * unpacked under a per-digest lock (lock.ts), so any number of processes may pull the same image
 * at once and the work is done once. A half-fetched blob stays as `tmp/<hex>.partial` and the
 * next pull resumes it. Taking a lease, `remove` and `prune` hold the store-wide `gc` lock, so an
 * image a container is about to use is either leased before a removal looks, or seen gone (and
 * pulled or unpacked again) after it.
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import {
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  statfs,
  unlink,
  utimes,
  writeFile,
} from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { type Credentials, dockerConfigCredentials } from "./credentials.ts";
import {
  DEFAULT_IMAGE_GC_POLICY,
  type DiskUsage,
  type ImageGcPolicy,
  imagesToCollect,
} from "./gc.ts";
import { type Lease, type LeaseRequest, liveLeases, releaseLeases, writeLease } from "./lease.ts";
import { type LoadOptions, loadImages } from "./load.ts";
import { withLock } from "./lock.ts";
import {
  choosePlatform,
  type Descriptor,
  formatPlatform,
  hostPlatform,
  type ImageConfigFile,
  type ImageManifest,
  type Platform,
  parseManifest,
} from "./manifest.ts";
import { formatReference, type ImageReference, parseReference } from "./reference.ts";
import { RegistryClient, RegistryError } from "./registry.ts";
import { applyLayer, finishUnpack, newUnpackState, removeTree } from "./unpack.ts";

export type PullPolicy = "Always" | "IfNotPresent" | "Never";

export interface ImageConfig {
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  workingDir?: string;
  user?: string;
  exposedPorts?: string[];
}

/** What a runtime needs to run a container from an image. */
export interface PreparedImage {
  /** The normalized reference asked for: `docker.io/library/nginx:latest`. */
  ref: string;
  /** The digest the reference resolved to (an index's, when the image has one). */
  digest: string;
  /** The image id: its config's digest. */
  id: string;
  /** The unpacked root: shared by every container of the image, never to be written. */
  rootfs: string;
  config: ImageConfig;
  /** Bytes of the image's content as a registry serves it (config + compressed layers). */
  size: number;
}

export interface PullProgress {
  ref: string;
  phase: "resolving" | "downloading" | "unpacking" | "done";
  bytes: number;
  totalBytes: number;
  layers: number;
  layersDone: number;
}

export interface EnsureOptions {
  policy: PullPolicy;
  /** Credentials from imagePullSecrets, tried before the user's Docker config. */
  credentials?: Credentials;
  onProgress?: (p: PullProgress) => void;
  /**
   * Hold the image for a container (until `release`): `remove`, `prune` and garbage collection
   * leave it, and its root, alone while the process that took the lease lives.
   */
  lease?: LeaseRequest;
}

export interface ImageRecord {
  digest: string;
  manifestDigest: string;
  id: string;
  size: number;
  layers: Descriptor[];
  config: ImageConfig;
  created: string;
}

export interface ImageSummary extends ImageRecord {
  refs: string[];
  /** When a container last asked for the image (ms since the epoch; its pull at first). */
  lastUsed: number;
  /** Who holds a lease on it (empty: unused). */
  usedBy: string[];
}

export interface ImageStoreOptions {
  /** The store's directory (default: the user's data dir, see the header). */
  root?: string;
  /** Registry hosts reached over plain HTTP besides loopback ones. */
  insecureRegistries?: readonly string[];
  /** Read `~/.docker/config.json` credentials (default true). */
  dockerConfig?: boolean;
  platform?: Platform;
  /** Blobs fetched at once per pull (default 3). */
  concurrency?: number;
  env?: NodeJS.ProcessEnv;
}

export class ImageNotPresentError extends Error {
  override name = "ImageNotPresentError";
}

/** `remove` of an image a running container uses (its lease holders in `usedBy`). */
export class ImageInUseError extends Error {
  override name = "ImageInUseError";
  constructor(
    readonly image: string,
    readonly usedBy: string[],
  ) {
    super(`unable to remove image ${image}: image is in use by a container: ${usedBy.join(", ")}`);
  }
}

const digestsOf = (r: ImageRecord) => [
  r.digest,
  r.manifestDigest,
  r.id,
  ...r.layers.map((l) => l.digest),
];

/** The store's default directory for this user. */
export function defaultImageStoreRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LOOPKUBE_IMAGE_STORE) return env.LOOPKUBE_IMAGE_STORE;
  const data = env.XDG_DATA_HOME || join(homedir(), ".local", "share");
  return join(data, "loopkube", "images");
}

const hexOf = (digest: string) => digest.replace(/^sha256:/, "");
const refFile = (ref: string) => `${encodeURIComponent(ref)}.json`;

export function toImageConfig(file: ImageConfigFile): ImageConfig {
  const c = file.config ?? {};
  const out: ImageConfig = {};
  if (c.Entrypoint?.length) out.entrypoint = c.Entrypoint;
  if (c.Cmd?.length) out.cmd = c.Cmd;
  if (c.Env?.length) out.env = c.Env;
  if (c.WorkingDir) out.workingDir = c.WorkingDir;
  if (c.User) out.user = c.User;
  const ports = Object.keys(c.ExposedPorts ?? {});
  if (ports.length) out.exposedPorts = ports;
  return out;
}

let pendingCounter = 0;

export class ImageStore {
  readonly root: string;
  private readonly options: ImageStoreOptions;
  private readonly platform: Platform;
  private ready: Promise<void> | undefined;

  constructor(options: ImageStoreOptions = {}) {
    this.options = options;
    this.root = options.root ?? defaultImageStoreRoot(options.env);
    this.platform = options.platform ?? hostPlatform();
  }

  private dir(...parts: string[]): string {
    return join(this.root, ...parts);
  }

  blobPath(digest: string): string {
    return this.dir("blobs", "sha256", hexOf(digest));
  }

  rootfsPath(id: string): string {
    return this.dir("roots", hexOf(id));
  }

  /** The image config a runtime needs, from an image's config file. */
  imageConfigOf(file: ImageConfigFile): ImageConfig {
    return toImageConfig(file);
  }

  /** Loads the images of an OCI layout or a `docker save` archive (see load.ts). */
  load(path: string, options: LoadOptions = {}): Promise<PreparedImage[]> {
    return loadImages(this, path, options);
  }

  ensureReady(): Promise<void> {
    return this.init();
  }

  private init(): Promise<void> {
    this.ready ??= (async () => {
      for (const d of [
        "blobs/sha256",
        "roots",
        "images",
        "refs",
        "pending",
        "leases",
        "tmp",
        "locks",
      ])
        await mkdir(this.dir(d), { recursive: true });
    })();
    return this.ready;
  }

  private tmpName(what: string): string {
    return this.dir("tmp", `${what}-${process.pid}-${randomBytes(4).toString("hex")}`);
  }

  /** Writes `data` at `file` atomically. */
  private async writeAtomic(file: string, data: string | Buffer): Promise<void> {
    const tmp = this.tmpName("w");
    await writeFile(tmp, data);
    await rename(tmp, file);
  }

  async hasBlob(digest: string): Promise<boolean> {
    return stat(this.blobPath(digest)).then(
      (s) => s.isFile(),
      () => false,
    );
  }

  /** Stores bytes whose digest the caller computed and checked. */
  async putBlob(digest: string, data: Buffer): Promise<void> {
    await this.init();
    if (!(await this.hasBlob(digest))) await this.writeAtomic(this.blobPath(digest), data);
  }

  /** Moves a verified file into the store under `digest`. */
  async adoptBlob(digest: string, file: string): Promise<void> {
    await this.init();
    await rename(file, this.blobPath(digest));
  }

  readBlob(digest: string): Promise<Buffer> {
    return readFile(this.blobPath(digest));
  }

  private async fetchBlob(
    client: RegistryClient,
    path: string,
    desc: Descriptor,
    onBytes: (n: number) => void,
  ): Promise<void> {
    if (await this.hasBlob(desc.digest)) return onBytes(desc.size);
    await withLock(this.dir("locks"), `blob-${hexOf(desc.digest)}`, async () => {
      if (await this.hasBlob(desc.digest)) return onBytes(desc.size);
      const partial = this.dir("tmp", `${hexOf(desc.digest)}.partial`);
      await client.fetchBlob(path, desc, partial, onBytes);
      await rename(partial, this.blobPath(desc.digest));
    });
  }

  /** Unpacks the image's layers once into roots/<id>; returns that directory. */
  async unpack(id: string, layers: Descriptor[], diffIds: readonly string[]): Promise<string> {
    await this.init();
    const target = this.rootfsPath(id);
    const exists = () =>
      stat(target).then(
        () => true,
        () => false,
      );
    if (await exists()) return target;
    await withLock(this.dir("locks"), `root-${hexOf(id)}`, async () => {
      if (await exists()) return;
      const tmp = this.tmpName(`unpack-${hexOf(id).slice(0, 12)}`);
      await mkdir(tmp, { mode: 0o755 });
      try {
        const state = newUnpackState();
        for (const [i, layer] of layers.entries())
          await applyLayer(tmp, this.blobPath(layer.digest), state, diffIds[i]);
        await finishUnpack(state);
        await rename(tmp, target);
      } catch (e) {
        await removeTree(tmp).catch(() => {});
        throw e;
      }
    });
    return target;
  }

  async readRecord(digest: string): Promise<ImageRecord | undefined> {
    try {
      return JSON.parse(
        await readFile(this.dir("images", `${hexOf(digest)}.json`), "utf8"),
      ) as ImageRecord;
    } catch {
      return undefined;
    }
  }

  async writeRecord(record: ImageRecord): Promise<void> {
    await this.init();
    await this.writeAtomic(
      this.dir("images", `${hexOf(record.digest)}.json`),
      JSON.stringify(record),
    );
  }

  async tag(ref: string, digest: string): Promise<void> {
    await this.init();
    await this.writeAtomic(this.dir("refs", refFile(ref)), JSON.stringify({ ref, digest }));
  }

  /** The record a parsed reference names locally, if any. */
  async lookup(ref: ImageReference): Promise<ImageRecord | undefined> {
    if (ref.digest) {
      const direct = await this.readRecord(ref.digest);
      if (direct) return direct;
      for (const r of await this.records()) if (r.manifestDigest === ref.digest) return r;
      return undefined;
    }
    try {
      const { digest } = JSON.parse(
        await readFile(this.dir("refs", refFile(formatReference(ref))), "utf8"),
      ) as { digest: string };
      return await this.readRecord(digest);
    } catch {
      return undefined;
    }
  }

  private async records(): Promise<ImageRecord[]> {
    const names = await readdir(this.dir("images")).catch(() => [] as string[]);
    const out: ImageRecord[] = [];
    for (const n of names) {
      if (!n.endsWith(".json")) continue;
      const r = await this.readRecord(n.slice(0, -5));
      if (r) out.push(r);
    }
    return out;
  }

  private async refs(): Promise<{ ref: string; digest: string }[]> {
    const names = await readdir(this.dir("refs")).catch(() => [] as string[]);
    const out: { ref: string; digest: string }[] = [];
    for (const n of names) {
      try {
        out.push(JSON.parse(await readFile(this.dir("refs", n), "utf8")));
      } catch {}
    }
    return out;
  }

  prepared(ref: string, record: ImageRecord): PreparedImage {
    return {
      ref,
      digest: record.digest,
      id: record.id,
      rootfs: this.rootfsPath(record.id),
      config: record.config,
      size: record.size,
    };
  }

  /** Makes sure the record's root is unpacked (it may have been pruned). */
  private async prepare(ref: string, record: ImageRecord): Promise<PreparedImage> {
    const config = JSON.parse((await this.readBlob(record.id)).toString("utf8")) as ImageConfigFile;
    await this.unpack(record.id, record.layers, config.rootfs?.diff_ids ?? []);
    return this.prepared(ref, record);
  }

  /**
   * The image `image` names, present per `policy`, pulled if needed, unpacked; with
   * `options.lease`, leased for a container before it is returned.
   */
  async ensure(image: string, options: EnsureOptions): Promise<PreparedImage> {
    const lease = options.lease;
    for (let attempt = 0; ; attempt++) {
      const prepared = await this.ensureOnce(image, options);
      if (!lease) {
        await this.touch(prepared.digest);
        return prepared;
      }
      // A removal between the pull and the lease: get the image again (per the policy).
      if (await this.takeLease(prepared, lease)) return prepared;
      if (attempt >= 2) throw new Error(`image ${prepared.ref} was removed while it was leased`);
    }
  }

  /** Marks the image used now (garbage collection removes the least recently used first). */
  private async touch(digest: string): Promise<void> {
    const now = new Date();
    await utimes(this.dir("images", `${hexOf(digest)}.json`), now, now).catch(() => {});
  }

  /** Under the gc lock: leases the image when its record, content and root are all there. */
  private takeLease(image: PreparedImage, lease: LeaseRequest): Promise<boolean> {
    return this.underGcLock(async () => {
      const record = await this.readRecord(image.digest);
      if (!record || !(await this.hasAll(record))) return false;
      if (
        !(await stat(this.rootfsPath(record.id)).then(
          () => true,
          () => false,
        ))
      )
        return false;
      await writeLease(this.dir("leases"), {
        ...lease,
        digest: record.digest,
        id: record.id,
        ref: image.ref,
        digests: digestsOf(record),
      });
      await this.touch(record.digest);
      return true;
    });
  }

  private underGcLock<T>(fn: () => Promise<T>): Promise<T> {
    return withLock(this.dir("locks"), "gc", fn);
  }

  /** Drops this process's leases whose key starts with `keyPrefix` (a container's, a pod's). */
  async release(keyPrefix: string): Promise<void> {
    await releaseLeases(this.dir("leases"), keyPrefix);
  }

  /** The leases of live processes (those of processes gone are swept). */
  async leases(): Promise<Lease[]> {
    await this.init();
    return liveLeases(this.dir("leases"));
  }

  private async ensureOnce(image: string, options: EnsureOptions): Promise<PreparedImage> {
    const ref = parseReference(image);
    const name = formatReference(ref);
    await this.init();
    const local = await this.lookup(ref);
    if (options.policy === "Never" || (options.policy === "IfNotPresent" && local)) {
      if (!local) throw new ImageNotPresentError(`image ${name} is not present`);
      if (await this.hasAll(local)) return this.prepare(name, local);
      if (options.policy === "Never") throw new ImageNotPresentError(`image ${name} is incomplete`);
    }
    const record = await this.pull(ref, options);
    return this.prepared(name, record);
  }

  /**
   * Whether the registry of `image` answers (see `RegistryClient.ping`): resolves when it does,
   * throws a `RegistryError` (code `Unavailable`, no status) when it cannot be reached.
   */
  async ping(image: string, timeoutMs: number): Promise<void> {
    const ref = parseReference(image);
    const client = new RegistryClient(ref.domain, {
      ...(this.options.insecureRegistries && {
        insecureRegistries: this.options.insecureRegistries,
      }),
    });
    await client.ping(timeoutMs);
  }

  private async hasAll(record: ImageRecord): Promise<boolean> {
    for (const d of [record.id, ...record.layers.map((l) => l.digest)])
      if (!(await this.hasBlob(d))) return false;
    return true;
  }

  private async pull(ref: ImageReference, options: EnsureOptions): Promise<ImageRecord> {
    const name = formatReference(ref);
    const credentials = [
      ...(options.credentials ?? []),
      ...(this.options.dockerConfig === false ? [] : dockerConfigCredentials(this.options.env)),
    ];
    const client = new RegistryClient(ref.domain, {
      credentials,
      ...(this.options.insecureRegistries && {
        insecureRegistries: this.options.insecureRegistries,
      }),
    });
    const progress: PullProgress = {
      ref: name,
      phase: "resolving",
      bytes: 0,
      totalBytes: 0,
      layers: 0,
      layersDone: 0,
    };
    const report = () => options.onProgress?.({ ...progress });
    report();
    const top = await client.getManifest(ref.path, ref.digest ?? ref.tag ?? "latest");
    await this.putBlob(top.digest, top.body);
    let parsed = parseManifest(top.body, top.mediaType);
    let manifestDigest = top.digest;
    if (parsed.kind === "index") {
      const desc = choosePlatform(parsed.index, this.platform);
      if (!desc)
        throw new RegistryError(
          `no match for platform in manifest: ${formatPlatform(this.platform)}: not found`,
          undefined,
          "NotFound",
        );
      const inner = await client.getManifest(ref.path, desc.digest);
      await this.putBlob(inner.digest, inner.body);
      parsed = parseManifest(inner.body, inner.mediaType);
      manifestDigest = inner.digest;
      if (parsed.kind !== "image")
        throw new RegistryError("an index inside an index is not supported");
    }
    const manifest: ImageManifest = parsed.manifest;
    const pending = this.dir("pending", `${process.pid}-${++pendingCounter}`);
    const digests = [
      top.digest,
      manifestDigest,
      manifest.config.digest,
      ...manifest.layers.map((l) => l.digest),
    ];
    await writeFile(pending, JSON.stringify(digests));
    try {
      progress.phase = "downloading";
      progress.layers = manifest.layers.length;
      progress.totalBytes = manifest.config.size + manifest.layers.reduce((s, l) => s + l.size, 0);
      report();
      const onBytes = (n: number) => {
        progress.bytes += n;
        report();
      };
      await this.fetchBlob(client, ref.path, manifest.config, onBytes);
      const queue = [...manifest.layers];
      const concurrency = Math.max(1, this.options.concurrency ?? 3);
      await Promise.all(
        Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
          for (let layer = queue.shift(); layer; layer = queue.shift()) {
            await this.fetchBlob(client, ref.path, layer, onBytes);
            progress.layersDone++;
            report();
          }
        }),
      );
      const configFile = JSON.parse(
        (await this.readBlob(manifest.config.digest)).toString("utf8"),
      ) as ImageConfigFile;
      progress.phase = "unpacking";
      report();
      await this.unpack(manifest.config.digest, manifest.layers, configFile.rootfs?.diff_ids ?? []);
      const record: ImageRecord = {
        digest: top.digest,
        manifestDigest,
        id: manifest.config.digest,
        size: progress.totalBytes,
        layers: manifest.layers,
        config: toImageConfig(configFile),
        created: new Date().toISOString(),
      };
      await this.writeRecord(record);
      if (!ref.digest) await this.tag(name, top.digest);
      progress.phase = "done";
      report();
      return record;
    } finally {
      await unlink(pending).catch(() => {});
    }
  }

  /**
   * The kubelet's image garbage collection (gc.ts) on the disk the store is on: when it is used
   * at the policy's high threshold or more, removes unused images least recently used first
   * (then their content, as `prune`). Returns what was removed and the disk figures it saw.
   */
  async collectGarbage(
    policy: ImageGcPolicy = DEFAULT_IMAGE_GC_POLICY,
    now = Date.now(),
    disk?: DiskUsage,
  ): Promise<{ images: string[]; bytes: number; disk: DiskUsage }> {
    await this.init();
    const seen = disk ?? (await diskOf(this.root));
    const list = await this.list();
    const plan = imagesToCollect(
      list.map((i) => ({
        digest: i.digest,
        size: i.size,
        lastUsed: i.lastUsed,
        created: Date.parse(i.created) || 0,
        inUse: i.usedBy.length > 0,
      })),
      seen,
      policy,
      now,
    );
    if (plan.digests.length === 0) return { images: [], bytes: 0, disk: seen };
    const r = await this.prune({ images: plan.digests });
    return { images: r.images, bytes: r.bytes, disk: seen };
  }

  /** Every image with the references naming it. */
  async list(): Promise<ImageSummary[]> {
    await this.init();
    const refs = await this.refs();
    const leases = await this.leases();
    const out: ImageSummary[] = [];
    for (const r of await this.records())
      out.push({
        ...r,
        refs: refs
          .filter((x) => x.digest === r.digest)
          .map((x) => x.ref)
          .sort(),
        lastUsed: await stat(this.dir("images", `${hexOf(r.digest)}.json`)).then(
          (s) => s.mtimeMs,
          () => 0,
        ),
        usedBy: holdersOf(leases, r),
      });
    return out.sort((a, b) => (a.refs[0] ?? a.digest).localeCompare(b.refs[0] ?? b.digest));
  }

  /**
   * Removes a reference, or an image by digest or id (a prefix of at least 12 hex digits): its
   * references go, and the image's record when none is left. Returns what was removed; content
   * no record uses goes at the next `prune`.
   */
  async remove(nameOrId: string): Promise<string[]> {
    await this.init();
    return this.underGcLock(() => this.removeLocked(nameOrId));
  }

  private async removeLocked(nameOrId: string): Promise<string[]> {
    const removed: string[] = [];
    const leases = await liveLeases(this.dir("leases"));
    const hex = nameOrId.replace(/^sha256:/, "");
    const records = await this.records();
    const refs = await this.refs();
    let targets: ImageRecord[];
    if (/^[a-f0-9]{12,64}$/.test(hex))
      targets = records.filter(
        (r) => hexOf(r.id).startsWith(hex) || hexOf(r.digest).startsWith(hex),
      );
    else {
      const ref = parseReference(nameOrId);
      const name = formatReference(ref);
      const hit = refs.find((x) => x.ref === name);
      const left = refs.filter((x) => x.ref !== name);
      const last = records.find(
        (r) =>
          (hit?.digest === r.digest || r.digest === ref.digest) &&
          !left.some((x) => x.digest === r.digest),
      );
      const users = last ? holdersOf(leases, last) : [];
      // The last name of an image a container uses stays with it (another tag may go).
      if (users.length > 0) throw new ImageInUseError(name, users);
      if (hit) {
        await unlink(this.dir("refs", refFile(name)));
        removed.push(name);
      }
      targets = records.filter(
        (r) =>
          (hit?.digest === r.digest || r.digest === ref.digest) &&
          !left.some((x) => x.digest === r.digest),
      );
    }
    for (const r of targets) {
      const users = holdersOf(leases, r);
      if (users.length > 0) throw new ImageInUseError(nameOrId, users);
    }
    for (const r of targets) {
      for (const x of refs.filter((x) => x.digest === r.digest && !removed.includes(x.ref))) {
        await unlink(this.dir("refs", refFile(x.ref))).catch(() => {});
        removed.push(x.ref);
      }
      await unlink(this.dir("images", `${hexOf(r.digest)}.json`)).catch(() => {});
      removed.push(r.digest);
    }
    return removed;
  }

  /**
   * Deletes blobs and unpacked roots that no image record and no pull in progress uses, and
   * with `unreferenced`, first every image no reference names. Returns the bytes of blobs freed.
   */
  async prune(
    options: { unreferenced?: boolean; images?: readonly string[] } = {},
  ): Promise<{ images: string[]; blobs: number; bytes: number }> {
    await this.init();
    return this.underGcLock(() => this.pruneLocked(options));
  }

  private async pruneLocked(options: {
    unreferenced?: boolean;
    images?: readonly string[];
  }): Promise<{ images: string[]; blobs: number; bytes: number }> {
    const images: string[] = [];
    const leases = await liveLeases(this.dir("leases"));
    const chosen = new Set(options.images ?? []);
    for (const r of await this.list())
      if (
        ((options.unreferenced && r.refs.length === 0) || chosen.has(r.digest)) &&
        holdersOf(leases, r).length === 0
      ) {
        for (const ref of r.refs) await unlink(this.dir("refs", refFile(ref))).catch(() => {});
        await unlink(this.dir("images", `${hexOf(r.digest)}.json`)).catch(() => {});
        images.push(r.digest);
      }
    const keep = new Set<string>();
    for (const r of await this.records()) for (const d of digestsOf(r)) keep.add(hexOf(d));
    for (const l of leases) for (const d of l.digests) keep.add(hexOf(d));
    for (const p of await readdir(this.dir("pending")).catch(() => [] as string[])) {
      const pid = Number.parseInt(p, 10);
      let live = pid === process.pid;
      try {
        if (!live) process.kill(pid, 0);
        live = true;
      } catch {}
      if (!live) {
        await unlink(this.dir("pending", p)).catch(() => {});
        continue;
      }
      try {
        for (const d of JSON.parse(await readFile(this.dir("pending", p), "utf8")) as string[])
          keep.add(hexOf(d));
      } catch {}
    }
    let blobs = 0;
    let bytes = 0;
    for (const hex of await readdir(this.dir("blobs", "sha256"))) {
      if (keep.has(hex)) continue;
      const file = this.dir("blobs", "sha256", hex);
      bytes += await stat(file).then(
        (s) => s.size,
        () => 0,
      );
      await rm(file, { force: true });
      blobs++;
    }
    for (const hex of await readdir(this.dir("roots")))
      if (!keep.has(hex)) await removeTree(this.dir("roots", hex));
    return { images, blobs, bytes };
  }
}

/** Who holds a lease on the image `r` (by its digest or its id). */
function holdersOf(leases: readonly Lease[], r: ImageRecord): string[] {
  return leases.filter((l) => l.digest === r.digest || l.id === r.id).map((l) => l.holder);
}

/** Capacity and free bytes of the file system `dir` is on (free as an unprivileged user sees it). */
async function diskOf(dir: string): Promise<DiskUsage> {
  const s = await statfs(dir);
  return { capacity: s.blocks * s.bsize, available: s.bavail * s.bsize };
}
