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

/** A registry of names → present locally / pullable. */
function fakeStore(local: Set<string>, remote: Set<string>) {
  const calls: string[] = [];
  return {
    calls,
    list: async () => [],
    async ensure(image: string, o: EnsureOptions): Promise<PreparedImage> {
      calls.push(`${o.policy} ${image}`);
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
  await step(0);
  const backing = await step(5_000);
  assert.match(
    "waiting" in backing ? backing.waiting.message : "",
    /^Back-off pulling image "x:1": ErrImagePull: rpc error/,
  );
  await step(10_000); // pulled again, fails: next back-off 20 s
  await step(29_000);
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
