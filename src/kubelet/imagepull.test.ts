import assert from "node:assert/strict";
import { test } from "node:test";
import type { Pod } from "kubernetes-types/core/v1.js";
import {
  type EnsureOptions,
  ImageNotPresentError,
  type PreparedImage,
  RegistryError,
} from "../images/index.ts";
import { ImagePuller, nodeImages } from "./imagepull.ts";

const DIGEST = `sha256:${"d".repeat(64)}`;
const prepared = (ref: string): PreparedImage => ({
  ref,
  digest: DIGEST,
  id: `sha256:${"c".repeat(64)}`,
  rootfs: "/nonexistent",
  config: {},
  size: 1234,
});

/** A registry of names → present locally / pullable; registries in `down` do not answer. */
function fakeStore(local: Set<string>, remote: Set<string>, down = new Set<string>()) {
  const calls: string[] = [];
  return {
    calls,
    list: async () => [],
    async ping(image: string): Promise<void> {
      const domain = image.split("/")[0] ?? "";
      calls.push(`ping ${domain}`);
      if (down.has(domain))
        throw new RegistryError(`${domain}: getaddrinfo ENOTFOUND`, undefined, "Unavailable");
    },
    async release(prefix: string): Promise<void> {
      calls.push(`release ${prefix}`);
    },
    async ensure(image: string, o: EnsureOptions): Promise<PreparedImage> {
      calls.push(
        `${o.policy} ${image}${o.lease ? ` lease ${o.lease.key} by ${o.lease.holder}` : ""}`,
      );
      if (local.has(image)) return prepared(image);
      if (o.policy === "Never") throw new ImageNotPresentError("absent");
      if (!remote.has(image)) throw new RegistryError("not found", 404, "NotFound");
      local.add(image);
      return prepared(image);
    },
  };
}

const pod: Pod = { metadata: { name: "p", namespace: "d", uid: "u1" } };

test("ImagePuller follows the pull policy with kube's events and waiting reasons", async () => {
  const cases: {
    image: string;
    policy?: string;
    local?: boolean;
    remote?: boolean;
    reason?: string;
    events: string[];
  }[] = [
    {
      image: "a:1",
      policy: "IfNotPresent",
      local: true,
      events: ['Pulled Container image "a:1" already present on machine'],
    },
    {
      image: "a:1",
      policy: "Never",
      local: true,
      events: ['Pulled Container image "a:1" already present on machine'],
    },
    {
      image: "a:1",
      policy: "Never",
      reason: "ErrImageNeverPull",
      events: [
        'ErrImageNeverPull Container image "a:1" is not present with pull policy of Never',
        "Failed Error: ErrImageNeverPull",
      ],
    },
    {
      image: "a:1",
      policy: "IfNotPresent",
      remote: true,
      events: [
        'Pulling Pulling image "a:1"',
        'Pulled Successfully pulled image "a:1" in 1.5s (1.5s including waiting). Image size: 1234 bytes.',
      ],
    },
    {
      image: "a",
      local: true,
      remote: true,
      events: [
        'Pulling Pulling image "a"',
        'Pulled Successfully pulled image "a" in 1.5s (1.5s including waiting). Image size: 1234 bytes.',
      ],
    },
    {
      image: "a:2",
      policy: "Always",
      reason: "ErrImagePull",
      events: [
        'Pulling Pulling image "a:2"',
        'Failed Failed to pull image "a:2": rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/library/a:2": failed to resolve reference "docker.io/library/a:2": docker.io/library/a:2: not found',
        "Failed Error: ErrImagePull",
      ],
    },
    {
      image: "Bad Name",
      reason: "InvalidImageName",
      events: [
        'InspectFailed Failed to apply default image tag "Bad Name": couldn\'t parse image name "Bad Name": invalid reference format',
        "Failed Error: InvalidImageName",
      ],
    },
  ];
  for (const c of cases) {
    const store = fakeStore(new Set(c.local ? [c.image] : []), new Set(c.remote ? [c.image] : []));
    let t = 0;
    const puller = new ImagePuller({
      store,
      credentialsOf: async () => [],
      now: () => {
        const v = t;
        t += 1500;
        return v;
      },
    });
    const events: string[] = [];
    const r = await puller.pull(
      pod,
      { name: "c", image: c.image, ...(c.policy && { imagePullPolicy: c.policy }) },
      (_type, reason, message) => events.push(`${reason} ${message}`),
    );
    assert.deepEqual(events, c.events, `${c.image} ${c.policy}`);
    if (c.reason) assert.equal("waiting" in r && r.waiting.reason, c.reason);
    else assert.equal("imageID" in r && r.imageID, `docker.io/library/a@${DIGEST}`);
  }
});

test("ImagePuller backs off after a failed pull: ImagePullBackOff until 10 s, then doubles", async () => {
  let now = 0;
  const remote = new Set<string>();
  const store = fakeStore(new Set(), remote);
  const puller = new ImagePuller({ store, credentialsOf: async () => [], now: () => now });
  const reasons: string[] = [];
  const step = async (at: number) => {
    now = at;
    const r = await puller.pull(
      pod,
      { name: "c", image: "x:1", imagePullPolicy: "IfNotPresent" },
      () => {},
    );
    reasons.push("waiting" in r ? r.waiting.reason : "ok");
    return r;
  };
  const retry = (r: Awaited<ReturnType<typeof step>>) => ("waiting" in r ? r.retryInMs : -1);
  // Tried again soon after a failure (so ImagePullBackOff shows), then when the back-off ends.
  assert.equal(retry(await step(0)), 1_000);
  const backing = await step(5_000);
  assert.match(
    "waiting" in backing ? backing.waiting.message : "",
    /^Back-off pulling image "x:1": ErrImagePull: rpc error/,
  );
  assert.equal(retry(backing), 5_000);
  await step(10_000); // pulled again, fails: next back-off 20 s
  assert.equal(retry(await step(29_000)), 1_000);
  remote.add("x:1");
  await step(30_000);
  assert.deepEqual(reasons, [
    "ErrImagePull",
    "ImagePullBackOff",
    "ErrImagePull",
    "ImagePullBackOff",
    "ok",
  ]);
  assert.equal(store.calls.filter((c) => c.startsWith("Always")).length, 3);
});

test("ImagePuller.unreachable names an image whose registry does not answer, else nothing", async () => {
  const down = new Set(["offline.invalid"]);
  const cases: {
    name: string;
    images: { image: string; policy?: string }[];
    local?: string[];
    why?: RegExp;
  }[] = [
    {
      name: "an image of an unreachable registry",
      images: [{ image: "offline.invalid/app:1" }],
      why: /^image "offline.invalid\/app:1" cannot be pulled: registry offline.invalid unreachable \(offline.invalid: getaddrinfo ENOTFOUND\)$/,
    },
    { name: "a registry that answers", images: [{ image: "online.invalid/app:1" }] },
    {
      name: "present, IfNotPresent: no pull needed",
      images: [{ image: "offline.invalid/app:1", policy: "IfNotPresent" }],
      local: ["offline.invalid/app:1"],
    },
    {
      name: "present, Always: the pull needs the registry",
      images: [{ image: "offline.invalid/app:1", policy: "Always" }],
      local: ["offline.invalid/app:1"],
      why: /registry offline.invalid unreachable/,
    },
    {
      name: "Never: ErrImageNeverPull as on kube, no fallback",
      images: [{ image: "offline.invalid/app:1", policy: "Never" }],
    },
    { name: "an invalid name: InvalidImageName", images: [{ image: "Bad Name" }] },
    {
      name: "the second container's image",
      images: [{ image: "online.invalid/a:1" }, { image: "offline.invalid/b:1" }],
      why: /offline.invalid\/b:1/,
    },
  ];
  for (const c of cases) {
    const store = fakeStore(new Set(c.local ?? []), new Set(), down);
    const puller = new ImagePuller({ store, credentialsOf: async () => [], now: () => 0 });
    const why = await puller.unreachable({
      ...pod,
      spec: {
        containers: c.images.map((i, n) => ({
          name: `c${n}`,
          image: i.image,
          ...(i.policy && { imagePullPolicy: i.policy }),
        })),
      },
    });
    if (c.why) assert.match(why ?? "", c.why, c.name);
    else assert.equal(why, undefined, c.name);
  }
});

test("ImagePuller.unreachable pings a registry once per 30 s, pods meanwhile sharing it", async () => {
  let now = 0;
  const store = fakeStore(new Set(), new Set(), new Set(["offline.invalid"]));
  const puller = new ImagePuller({ store, credentialsOf: async () => [], now: () => now });
  const podOf = (image: string): Pod => ({ ...pod, spec: { containers: [{ name: "c", image }] } });
  const burst = await Promise.all(
    ["a", "b", "c"].map((n) => puller.unreachable(podOf(`offline.invalid/${n}:1`))),
  );
  assert.ok(burst.every((w) => w?.includes("unreachable")));
  now = 29_000;
  assert.ok(await puller.unreachable(podOf("offline.invalid/d:1")));
  assert.equal(store.calls.filter((c) => c.startsWith("ping")).length, 1);
  now = 30_000;
  await puller.unreachable(podOf("offline.invalid/d:1"));
  assert.equal(store.calls.filter((c) => c.startsWith("ping")).length, 2);
});

test("nodeImages lists repo digests and tags, largest first", () => {
  assert.deepEqual(
    nodeImages([
      { refs: ["docker.io/library/a:1"], digest: DIGEST, size: 10 },
      { refs: ["127.0.0.1:5000/b:2", "127.0.0.1:5000/b:3"], digest: DIGEST, size: 20 },
      { refs: [], digest: DIGEST, size: 30 },
    ]),
    [
      {
        names: [`127.0.0.1:5000/b@${DIGEST}`, "127.0.0.1:5000/b:2", "127.0.0.1:5000/b:3"],
        sizeBytes: 20,
      },
      { names: [`docker.io/library/a@${DIGEST}`, "docker.io/library/a:1"], sizeBytes: 10 },
    ],
  );
});

test("a failing pull shows ImagePullBackOff a second after ErrImagePull and pulls again at each back-off's end", async () => {
  let now = 0;
  const store = fakeStore(new Set(), new Set());
  const puller = new ImagePuller({ store, credentialsOf: async () => [], now: () => now });
  const seen: string[] = [];
  // As the pod worker does: come back when the waiting result says.
  for (let i = 0; i < 14; i++) {
    const r = await puller.pull(
      pod,
      { name: "c", image: "x:1", imagePullPolicy: "Always" },
      () => {},
    );
    assert.ok("waiting" in r && r.retryInMs !== undefined);
    seen.push(`${now / 1000} ${r.waiting.reason}`);
    now += r.retryInMs;
  }
  assert.deepEqual(seen, [
    "0 ErrImagePull",
    "1 ImagePullBackOff",
    "10 ErrImagePull",
    "11 ImagePullBackOff",
    "30 ErrImagePull",
    "31 ImagePullBackOff",
    "70 ErrImagePull",
    "71 ImagePullBackOff",
    "150 ErrImagePull",
    "151 ImagePullBackOff",
    "310 ErrImagePull",
    "311 ImagePullBackOff",
    "610 ErrImagePull", // capped at 300 s
    "611 ImagePullBackOff",
  ]);
});

test("a container leases its image in the store; forget and close release the pod's leases", async () => {
  const store = fakeStore(new Set(["here:1"]), new Set(["there:1"]));
  const puller = new ImagePuller({
    store,
    credentialsOf: async () => [],
    now: () => 0,
    holder: "cluster dev",
  });
  const web: Pod = { metadata: { name: "web", namespace: "ns", uid: "u2" } };
  await puller.pull(pod, { name: "a", image: "here:1", imagePullPolicy: "IfNotPresent" }, () => {});
  await puller.pull(web, { name: "b", image: "there:1", imagePullPolicy: "Always" }, () => {});
  await puller.forget("u1");
  await puller.forget("u1"); // nothing left to release
  await puller.close();
  assert.deepEqual(store.calls, [
    "Never here:1 lease u1_a by pod d/p (container a) in cluster dev",
    "Always there:1 lease u2_b by pod ns/web (container b) in cluster dev",
    "release u1_",
    "release u2_",
  ]);
});

test("the kubelet's image garbage collection runs every period until close", async () => {
  let runs = 0;
  let ran: () => void = () => {};
  const store = {
    ...fakeStore(new Set(), new Set()),
    async collectGarbage() {
      runs++;
      ran();
      return { images: ["sha256:gone"], bytes: 5 };
    },
  };
  const collected: string[][] = [];
  const puller = new ImagePuller({
    store,
    credentialsOf: async () => [],
    now: () => 0,
    gcPeriodMs: 5,
    onCollected: (r) => collected.push(r.images),
  });
  // The collector's timer does not hold the process open (it is unref'd): this one does.
  const alive = setInterval(() => {}, 1000);
  await new Promise<void>((r) => {
    ran = () => runs >= 2 && r();
  });
  clearInterval(alive);
  await puller.close();
  const after = runs;
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(runs, after, "no collection after close");
  assert.ok(collected.length >= 1 && collected[0]?.[0] === "sha256:gone");
});
