/**
 * The image store against a real registry (Debian's docker-registry on a loopback port) and
 * images built from busybox-static, pushed with skopeo.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  buildBusyboxLayout,
  imageToolsMissing,
  type Layout,
  skopeoCopy,
  startRegistry,
  type TestRegistry,
} from "../_testing/index.ts";
import {
  ImageInUseError,
  ImageNotPresentError,
  openImageStore,
  RegistryError,
  secretCredentials,
} from "./index.ts";

const missing = imageToolsMissing();
const skip =
  missing.length > 0 && `needs ${missing.join(", ")} (apt-get install ${missing.join(" ")})`;
if (skip) console.log(`# SKIP image store tests: ${skip}`);

let work: string;
let registry: TestRegistry;
let secured: TestRegistry;
let tokened: TestRegistry;
let layout: Layout;
let indexLayout: Layout;

before(async () => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), "lk-images-"));
  [registry, secured, tokened] = await Promise.all([
    startRegistry(),
    startRegistry({ basicAuth: { username: "alice", password: "wonder" } }),
    startRegistry({ tokenAuth: { username: "bob", password: "builder", publicPrefix: "public/" } }),
  ]);
  layout = await buildBusyboxLayout(join(work, "layout"), {
    tag: "1",
    extraLayer: { "www/index.html": "layer two\n", "etc/group": null },
  });
  indexLayout = await buildBusyboxLayout(join(work, "multi"), { tag: "multi", asIndex: true });
  await Promise.all([
    skopeoCopy(`oci:${layout.dir}:1`, `docker://${registry.host}/demo/httpd:1`),
    skopeoCopy(`oci:${layout.dir}:1`, `docker://${registry.host}/demo/httpd:zstd`, { zstd: true }),
    skopeoCopy(`oci:${indexLayout.dir}:multi`, `docker://${registry.host}/demo/multi:1`, {
      all: true,
    }),
    skopeoCopy(`oci:${layout.dir}:1`, `docker://${secured.host}/private/app:1`, {
      destCreds: "alice:wonder",
    }),
    skopeoCopy(`oci:${layout.dir}:1`, `docker://${tokened.host}/public/app:1`, {
      destCreds: "bob:builder",
    }),
    skopeoCopy(`oci:${layout.dir}:1`, `docker://${tokened.host}/private/app:1`, {
      destCreds: "bob:builder",
    }),
  ]);
});

after(async () => {
  if (skip) return;
  await Promise.all([registry?.stop(), secured?.stop(), tokened?.stop()]);
  rmSync(work, { recursive: true, force: true });
});

const storeAt = (name: string) => openImageStore({ root: join(work, name), dockerConfig: false });

test("ensure pulls an image, verifies it and unpacks every layer into its root", {
  skip,
}, async () => {
  const store = storeAt("s1");
  const phases = new Set<string>();
  let lastBytes = 0;
  const image = await store.ensure(`${registry.host}/demo/httpd:1`, {
    policy: "IfNotPresent",
    onProgress: (p) => {
      phases.add(p.phase);
      lastBytes = p.bytes;
    },
  });
  assert.equal(image.ref, `${registry.host}/demo/httpd:1`);
  assert.equal(image.digest, layout.manifestDigest);
  assert.equal(image.id, layout.configDigest);
  assert.deepEqual(image.config.cmd, ["httpd", "-f", "-p", "80", "-h", "/www"]);
  assert.deepEqual(image.config.exposedPorts, ["80/tcp"]);
  assert.equal(readFileSync(join(image.rootfs, "www/index.html"), "utf8"), "layer two\n");
  assert.equal(existsSync(join(image.rootfs, "etc/group")), false);
  assert.equal(readlinkSync(join(image.rootfs, "bin/sh")), "busybox");
  assert.equal(lstatSync(join(image.rootfs, "bin/busybox")).mode & 0o777, 0o755);
  assert.equal(lstatSync(join(image.rootfs, "tmp")).mode & 0o7777, 0o1777);
  assert.deepEqual([...phases], ["resolving", "downloading", "unpacking", "done"]);
  assert.equal(lastBytes, image.size);
  const listed = await store.list();
  assert.deepEqual(
    listed.map((i) => [i.refs, i.digest]),
    [[[image.ref], image.digest]],
  );
});

test("ensure reads zstd layers and picks this platform from an image index", { skip }, async () => {
  const store = storeAt("s2");
  const z = await store.ensure(`${registry.host}/demo/httpd:zstd`, { policy: "Always" });
  assert.equal(readFileSync(join(z.rootfs, "www/index.html"), "utf8"), "layer two\n");
  assert.notEqual(z.digest, layout.manifestDigest, "skopeo recompressed the layers");
  const multi = await store.ensure(`${registry.host}/demo/multi:1`, { policy: "IfNotPresent" });
  assert.equal(multi.digest, indexLayout.manifestDigest);
  assert.equal(multi.id, indexLayout.configDigest);
  assert.ok(existsSync(join(multi.rootfs, "bin/busybox")));
});

test("pull policies: Never and IfNotPresent use what is there, Never refuses what is not", {
  skip,
}, async () => {
  const store = storeAt("s3");
  await assert.rejects(
    store.ensure(`${registry.host}/demo/httpd:1`, { policy: "Never" }),
    ImageNotPresentError,
  );
  const first = await store.ensure(`${registry.host}/demo/httpd:1`, { policy: "Always" });
  let contacted = false;
  const again = await store.ensure(`${registry.host}/demo/httpd:1`, {
    policy: "IfNotPresent",
    onProgress: () => {
      contacted = true;
    },
  });
  assert.equal(contacted, false);
  assert.deepEqual(again, first);
  assert.deepEqual(await store.ensure(`${registry.host}/demo/httpd:1`, { policy: "Never" }), first);
  assert.deepEqual(
    await store.ensure(`${registry.host}/demo/httpd@${layout.manifestDigest}`, { policy: "Never" }),
    {
      ...first,
      ref: `${registry.host}/demo/httpd@${layout.manifestDigest}`,
    },
  );
});

test("a missing tag is NotFound; a private repository needs its credentials", {
  skip,
}, async () => {
  const store = storeAt("s4");
  await assert.rejects(
    store.ensure(`${registry.host}/demo/httpd:nope`, { policy: "IfNotPresent" }),
    (e: unknown) => {
      assert.ok(e instanceof RegistryError);
      assert.equal(e.code, "NotFound");
      return true;
    },
  );
  await assert.rejects(
    store.ensure(`${secured.host}/private/app:1`, { policy: "Always" }),
    (e: unknown) => {
      assert.ok(e instanceof RegistryError);
      assert.equal(e.code, "Unauthorized");
      return true;
    },
  );
  const wrong = secretCredentials({
    type: "kubernetes.io/dockerconfigjson",
    data: {
      ".dockerconfigjson": Buffer.from(
        JSON.stringify({
          auths: { [secured.host]: { auth: Buffer.from("alice:nope").toString("base64") } },
        }),
      ).toString("base64"),
    },
  });
  await assert.rejects(
    store.ensure(`${secured.host}/private/app:1`, { policy: "Always", credentials: wrong }),
    RegistryError,
  );
  const right = secretCredentials({
    type: "kubernetes.io/dockercfg",
    data: {
      ".dockercfg": Buffer.from(
        JSON.stringify({ [`http://${secured.host}`]: { username: "alice", password: "wonder" } }),
      ).toString("base64"),
    },
  });
  const image = await store.ensure(`${secured.host}/private/app:1`, {
    policy: "Always",
    credentials: right,
  });
  assert.equal(image.digest, layout.manifestDigest);
});

test("the user's docker config.json supplies credentials", { skip }, async () => {
  const dockerDir = join(work, "docker");
  const { mkdirSync } = await import("node:fs");
  mkdirSync(dockerDir, { recursive: true });
  writeFileSync(
    join(dockerDir, "config.json"),
    JSON.stringify({
      auths: { [secured.host]: { auth: Buffer.from("alice:wonder").toString("base64") } },
    }),
  );
  const store = openImageStore({ root: join(work, "s5"), env: { DOCKER_CONFIG: dockerDir } });
  const image = await store.ensure(`${secured.host}/private/app:1`, { policy: "Always" });
  assert.equal(image.id, layout.configDigest);
});

test("concurrent pulls into one store fetch and unpack once and agree", { skip }, async () => {
  const root = join(work, "s6");
  const stores = [0, 1, 2].map(() => openImageStore({ root, dockerConfig: false }));
  const images = await Promise.all(
    stores.map((s) => s.ensure(`${registry.host}/demo/httpd:1`, { policy: "Always" })),
  );
  for (const i of images) assert.deepEqual(i, images[0]);
  assert.deepEqual(readdirSync(join(root, "roots")), [layout.configDigest.slice(7)]);
  assert.deepEqual(readdirSync(join(root, "tmp")), []);
  assert.deepEqual(readdirSync(join(root, "locks")), []);
});

test("a partial blob is resumed with a Range request, and its digest still checked", {
  skip,
}, async () => {
  const root = join(work, "s7");
  const store = openImageStore({ root, dockerConfig: false });
  const manifest = JSON.parse(
    readFileSync(join(layout.dir, "blobs/sha256", layout.manifestDigest.slice(7)), "utf8"),
  ) as {
    layers: { digest: string }[];
  };
  const hex = manifest.layers[0]!.digest.slice(7);
  const whole = readFileSync(join(layout.dir, "blobs/sha256", hex));
  const { mkdirSync } = await import("node:fs");
  mkdirSync(join(root, "tmp"), { recursive: true });
  // A corrupted first half: only a resumed download keeps it, and then the digest must fail.
  const bad = Buffer.from(whole.subarray(0, whole.length >> 1));
  bad[10] = (bad[10] ?? 0) ^ 0xff;
  writeFileSync(join(root, "tmp", `${hex}.partial`), bad);
  await assert.rejects(
    store.ensure(`${registry.host}/demo/httpd:1`, { policy: "Always" }),
    /digest mismatch/,
  );
  // A good first half is resumed to a good blob.
  writeFileSync(join(root, "tmp", `${hex}.partial`), whole.subarray(0, whole.length >> 1));
  const image = await store.ensure(`${registry.host}/demo/httpd:1`, { policy: "Always" });
  assert.ok(readFileSync(join(root, "blobs/sha256", hex)).equals(whole));
  assert.equal(image.digest, layout.manifestDigest);
});

test("remove drops references and prune frees what no image uses", { skip }, async () => {
  const store = storeAt("s8");
  const image = await store.ensure(`${registry.host}/demo/httpd:1`, { policy: "Always" });
  const pruneNothing = await store.prune();
  assert.equal(pruneNothing.blobs, 0);
  assert.deepEqual(await store.remove(`${registry.host}/demo/httpd:1`), [image.ref, image.digest]);
  assert.deepEqual(await store.list(), []);
  const pruned = await store.prune();
  assert.ok(pruned.blobs >= 3 && pruned.bytes >= image.size, JSON.stringify(pruned));
  assert.equal(existsSync(image.rootfs), false);
});

test("an image a container holds a lease on cannot be removed or pruned until it is released", {
  skip,
}, async () => {
  const store = storeAt("s8-lease");
  const name = `${registry.host}/demo/httpd:1`;
  const lease = { key: "uid-1_app", holder: "pod default/web (container app) in cluster c1" };
  const image = await store.ensure(name, { policy: "IfNotPresent", lease });
  // A second reference to the same image may go; the last one may not.
  await store.ensure(`${registry.host}/demo/httpd:zstd`, { policy: "Always" });
  await assert.rejects(store.remove(name), (e: Error) => {
    assert.ok(e instanceof ImageInUseError, String(e));
    assert.equal(
      e.message,
      `unable to remove image ${name}: image is in use by a container: ${lease.holder}`,
    );
    return true;
  });
  await assert.rejects(store.remove(image.id.slice(7, 19)), ImageInUseError);
  assert.deepEqual((await store.list()).find((i) => i.digest === image.digest)?.usedBy, [
    lease.holder,
  ]);
  await store.prune({ unreferenced: true });
  assert.ok(existsSync(join(image.rootfs, "bin/busybox")), "prune keeps a leased root");
  await store.release("uid-1_");
  assert.deepEqual(await store.remove(name), [name, image.digest]);
  // The zstd copy shares the image id, so its root: it goes with the last image using it.
  await store.remove(`${registry.host}/demo/httpd:zstd`);
  await store.prune();
  assert.equal(existsSync(image.rootfs), false);
});

test("the leases of a process that is gone (kill -9) no longer hold an image", {
  skip,
}, async () => {
  const store = storeAt("s8-dead");
  const name = `${registry.host}/demo/httpd:1`;
  const image = await store.ensure(name, { policy: "Always" });
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]);
  const owner = join(store.root, "leases", `${child.stdout.toString()}-1`);
  mkdirSync(owner, { recursive: true });
  writeFileSync(
    join(owner, "x.json"),
    JSON.stringify({
      key: "x",
      holder: "gone",
      digest: image.digest,
      id: image.id,
      ref: name,
      digests: [],
    }),
  );
  assert.deepEqual(await store.remove(name), [name, image.digest]);
  assert.equal(existsSync(owner), false);
});

test("a lease taken after a removal gets the image again instead of a root that is gone", {
  skip,
}, async () => {
  const store = storeAt("s8-race");
  const name = `${registry.host}/demo/httpd:1`;
  await store.ensure(name, { policy: "Always" });
  // Remove and prune while pods start: every start still ends with a leased, complete root.
  const starts = Array.from({ length: 4 }, (_, i) =>
    store.ensure(name, { policy: "IfNotPresent", lease: { key: `p${i}_app`, holder: `p${i}` } }),
  );
  const removal = store.remove(name).then(
    () => store.prune(),
    () => undefined,
  );
  const images = await Promise.all(starts);
  await removal;
  for (const i of images) assert.ok(existsSync(join(i.rootfs, "bin/busybox")));
  assert.equal((await store.leases()).length, 4);
  assert.equal((await store.list())[0]?.usedBy.length, 4);
});

test("image garbage collection above the high threshold removes unused images, never a leased one", {
  skip,
}, async () => {
  const store = storeAt("s8-gc");
  const used = await store.ensure(`${registry.host}/demo/httpd:1`, {
    policy: "Always",
    lease: { key: "u_app", holder: "pod d/p (container app)" },
  });
  const unused = await store.ensure(`${registry.host}/demo/multi:1`, { policy: "Always" });
  const full = { capacity: 100_000_000, available: 1_000_000 };
  const policy = { highThresholdPercent: 85, lowThresholdPercent: 80, minAgeMs: 120_000 };
  // Too young: pulled just now.
  assert.deepEqual((await store.collectGarbage(policy, Date.now(), full)).images, []);
  const later = Date.now() + 180_000;
  const quiet = { capacity: 100_000_000, available: 50_000_000 };
  assert.deepEqual((await store.collectGarbage(policy, later, quiet)).images, []);
  const r = await store.collectGarbage(policy, later, full);
  assert.deepEqual(r.images, [unused.digest]);
  assert.deepEqual(
    (await store.list()).map((i) => i.digest),
    [used.digest],
  );
  assert.ok(existsSync(join(used.rootfs, "bin/busybox")));
  await store.release("u_");
});

test("load takes an OCI layout and a docker save archive", { skip }, async () => {
  const store = storeAt("s9");
  const fromLayout = await store.load(layout.dir, { name: "example.com/demo/app" });
  assert.deepEqual(
    fromLayout.map((i) => [i.ref, i.digest]),
    [["example.com/demo/app:1", layout.manifestDigest]],
  );
  const archive = join(work, "saved.tar");
  await skopeoCopy(`oci:${layout.dir}:1`, `docker-archive:${archive}:saved/app:2`);
  const fromArchive = await store.load(archive);
  assert.equal(fromArchive.length, 1);
  assert.equal(fromArchive[0]!.ref, "docker.io/saved/app:2");
  assert.equal(fromArchive[0]!.id.length, 71);
  assert.equal(readFileSync(join(fromArchive[0]!.rootfs, "www/index.html"), "utf8"), "layer two\n");
  const ran = await store.ensure("saved/app:2", { policy: "Never" });
  assert.equal(ran.rootfs, fromArchive[0]!.rootfs);
});

test("bearer-token auth: anonymous tokens for public repositories, credentials for private ones", {
  skip,
}, async () => {
  const store = storeAt("s10");
  const pub = await store.ensure(`${tokened.host}/public/app:1`, { policy: "Always" });
  assert.equal(pub.digest, layout.manifestDigest);
  await assert.rejects(
    store.ensure(`${tokened.host}/private/app:1`, { policy: "Always" }),
    (e: unknown) => {
      assert.ok(e instanceof RegistryError);
      assert.equal(e.code, "Unauthorized");
      return true;
    },
  );
  const credentials = [
    { host: tokened.host, credential: { username: "bob", password: "builder" } },
  ];
  const priv = await store.ensure(`${tokened.host}/private/app:1`, {
    policy: "Always",
    credentials,
  });
  assert.equal(priv.id, layout.configDigest);
});
