/**
 * Issue 18 end to end: images pulled from a registry and run by the `oci` runtime, with the real
 * kubectl, as a user would. A `docker-registry` on a free loopback port holds a busybox `httpd`
 * image pushed with skopeo; a cluster started with the default runtime (`auto`: `oci` where it
 * can run, as here, like a plain `loopkube up` as root) and its own image store directory:
 *
 * - `kubectl create deployment web --image=127.0.0.1:PORT/demo/httpd:1 --replicas=2`: both pods
 *   Running and Ready, their imageID the pushed digest, each serving on port 80 at its pod IP and
 *   through the Service `kubectl expose` makes; `kubectl exec` lists the image's root;
 * - a missing tag: ErrImagePull, then ImagePullBackOff, in `kubectl get pod`; through a watch,
 *   ImagePullBackOff at the next sync after ErrImagePull and the next pull after the back-off;
 * - `imagePullPolicy: Never` with an absent image: ErrImageNeverPull;
 * - a private repository (basic auth): ErrImagePull without imagePullSecrets, Running with them;
 * - `loopkube load image` of an OCI layout into the store, then a Never pod runs it.
 *
 * Needs root, crun (or runc), docker-registry, skopeo and busybox-static; skips visibly else.
 * Network safety: `ip route get` shows where each address goes before anything is sent to it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { Pod, Service } from "kubernetes-types/core/v1.js";
import { buildBusyboxLayout, skopeoCopy, startRegistry, waitFor } from "../src/_testing/index.ts";
import { REFS } from "../src/api/refs.ts";
import { typed, type WatchEvent } from "../src/api/types.ts";
import { cliEnv, runLoopkube } from "./_cli.ts";
import { imageCluster, imagesSkip, isReady, serves } from "./_images.ts";

const SKIP = imagesSkip("images-e2e.test.ts");

describe("pods pull their images from a registry and run them (oci runtime)", {
  skip: SKIP,
}, () => {
  const f = imageCluster("images-e2e", {
    images: { "httpd:1": { tag: "1" } },
  });
  const { ok, podsOf } = f;
  const image = () => f.ref("httpd:1");
  const layout = () => f.layouts["httpd:1"] ?? assert.fail("no httpd:1 layout");
  /** The STATUS column of `kubectl get pod NAME`. */
  const statusColumn = async (name: string) => {
    const out = await ok(["get", "pod", name, "--no-headers"]);
    return out.trim().split(/\s+/)[2] ?? "";
  };
  const podYaml = (name: string, ref: string, policy: string) =>
    JSON.stringify({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [{ name: "app", image: ref, imagePullPolicy: policy }],
      },
    });

  test("kubectl create deployment runs two replicas of the pulled image, served by pod IP and Service", async () => {
    await ok(["create", "deployment", "web", `--image=${image()}`, "--replicas=2"]);
    await ok(["expose", "deployment", "web", "--port=80"]);
    const pods = await waitFor(
      async () => {
        const ps = await podsOf("app=web");
        return ps.length === 2 && ps.every((p) => p.status?.phase === "Running" && isReady(p))
          ? ps
          : undefined;
      },
      { timeoutMs: 120_000, what: "both web pods Running and Ready" },
    );
    for (const p of pods) {
      const status = p.status?.containerStatuses?.[0];
      assert.equal(status?.image, image());
      assert.equal(status?.imageID, `${f.registry.host}/demo/httpd@${layout().manifestDigest}`);
    }
    const table = await ok(["get", "pods", "-l", "app=web", "--no-headers"]);
    assert.equal(
      table
        .trim()
        .split("\n")
        .filter((l) => /\s1\/1\s+Running\s/.test(l)).length,
      2,
    );
    const events = await ok(["get", "events", "--field-selector", "reason=Pulled", "-o", "name"]);
    assert.ok(events.trim().length > 0, "a Pulled event");

    const ips = pods.map((p) => p.status?.podIP ?? "");
    assert.equal(new Set(ips).size, 2);
    for (const ip of ips) await serves(ip, "hello from 1\n");
    const svc = (await f.cluster.client.get(REFS.services, "default", "web")) as Service;
    const clusterIP = svc.spec?.clusterIP ?? "";
    await serves(clusterIP, "hello from 1\n", /^lo$/);

    const name = pods[0]?.metadata?.name ?? "";
    const root = await ok(["exec", name, "--", "ls", "/"]);
    const entries = root.trim().split(/\s+/);
    assert.ok(entries.includes("www"), `the image's /www in ${entries.join(" ")}`);
    assert.ok(!entries.includes("work") && !entries.includes("home"), "not the host's root");
    assert.equal(await ok(["exec", name, "--", "cat", "/www/index.html"]), "hello from 1\n");
  });

  test("a missing tag shows ErrImagePull, then ImagePullBackOff", async () => {
    await ok(
      ["apply", "-f", "-"],
      podYaml("nosuch", `${f.registry.host}/demo/httpd:404`, "IfNotPresent"),
    );
    const seen = new Set<string>();
    await waitFor(
      async () => {
        seen.add(await statusColumn("nosuch"));
        return seen.has("ErrImagePull") && seen.has("ImagePullBackOff") ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200, what: "ErrImagePull then ImagePullBackOff" },
    );
    const pod = await f.pod("nosuch");
    const waiting = pod.status?.containerStatuses?.[0]?.state?.waiting;
    assert.match(waiting?.reason ?? "", /^(ErrImagePull|ImagePullBackOff)$/);
    assert.match(waiting?.message ?? "", /not found/);
    const described = await ok(["describe", "pod", "nosuch"]);
    assert.match(described, /Failed to pull image "[^"]+demo\/httpd:404"/);
  });

  test("ImagePullBackOff follows ErrImagePull at the kubelet's next sync, and the next pull waits out the 10 s back-off", async () => {
    // Every change of the container's waiting state, as a watch sees it, with when it came.
    const seen: { at: number; reason: string; message: string }[] = [];
    const handle = f.cluster.client.watch(
      REFS.pods,
      "default",
      { fieldSelector: "metadata.name=backoff" },
      (e: WatchEvent) => {
        if (e.type !== "ADDED" && e.type !== "MODIFIED") return;
        const w = typed<Pod>(e.object).status?.containerStatuses?.[0]?.state?.waiting;
        const last = seen[seen.length - 1];
        if (w?.reason && (w.reason !== last?.reason || w.message !== last?.message))
          seen.push({ at: Date.now(), reason: w.reason, message: w.message ?? "" });
      },
    );
    try {
      await ok(
        ["apply", "-f", "-"],
        podYaml("backoff", `${f.registry.host}/demo/httpd:405`, "IfNotPresent"),
      );
      // ErrImagePull, ImagePullBackOff, then the second pull's ErrImagePull.
      const pulls = () => seen.filter((s) => s.reason === "ErrImagePull");
      await waitFor(() => (pulls().length >= 2 ? true : undefined), {
        timeoutMs: 90_000,
        what: `two ErrImagePull, seen ${JSON.stringify(seen.map((s) => s.reason))}`,
      });
      const reasons = seen.map((s) => s.reason).filter((r) => r !== "ContainerCreating");
      assert.deepEqual(reasons.slice(0, 3), ["ErrImagePull", "ImagePullBackOff", "ErrImagePull"]);
      const [first, backOff, second] = seen.filter((s) => s.reason !== "ContainerCreating");
      assert.match(backOff?.message ?? "", /^Back-off pulling image "[^"]+demo\/httpd:405"/);
      // The back-off shows at the next sync (about a second; the old retry came only at 10 s).
      const shown = (backOff?.at ?? 0) - (first?.at ?? 0);
      assert.ok(shown < 9_000, `ImagePullBackOff came ${shown} ms after ErrImagePull`);
      // And the image is not pulled again before the 10 s back-off ends.
      const again = (second?.at ?? 0) - (first?.at ?? 0);
      assert.ok(again >= 9_500, `pulled again after ${again} ms`);
    } finally {
      handle.stop();
    }
  });

  test("imagePullPolicy Never with an absent image: ErrImageNeverPull", async () => {
    await ok(["apply", "-f", "-"], podYaml("never", "demo/local:1", "Never"));
    await waitFor(
      async () => ((await statusColumn("never")) === "ErrImageNeverPull" ? true : undefined),
      {
        timeoutMs: 30_000,
        what: "ErrImageNeverPull",
      },
    );
    const pod = await f.pod("never");
    assert.equal(
      pod.status?.containerStatuses?.[0]?.state?.waiting?.message,
      'Container image "demo/local:1" is not present with pull policy of Never',
    );
  });

  test("a private repository: ErrImagePull without imagePullSecrets, Running with them", async () => {
    const creds = { username: "alice", password: "s3cret-e2e" };
    const secured = await startRegistry({ basicAuth: creds });
    try {
      const ref = `${secured.host}/private/httpd:1`;
      await skopeoCopy(`oci:${layout().dir}:1`, `docker://${ref}`, {
        destCreds: `${creds.username}:${creds.password}`,
      });
      await ok(["apply", "-f", "-"], podYaml("anonymous", ref, "IfNotPresent"));
      await waitFor(
        async () => ((await statusColumn("anonymous")) === "ErrImagePull" ? true : undefined),
        { timeoutMs: 30_000, what: "ErrImagePull without credentials" },
      );
      await ok([
        "create",
        "secret",
        "docker-registry",
        "pull",
        `--docker-server=${secured.host}`,
        `--docker-username=${creds.username}`,
        `--docker-password=${creds.password}`,
      ]);
      const withSecret = JSON.parse(podYaml("authorized", ref, "IfNotPresent"));
      withSecret.spec.imagePullSecrets = [{ name: "pull" }];
      await ok(["apply", "-f", "-"], JSON.stringify(withSecret));
      const pod = await waitFor(
        async () => {
          const p = await f.pod("authorized");
          return p.status?.phase === "Running" ? p : undefined;
        },
        { timeoutMs: 60_000, what: "the pod with imagePullSecrets running" },
      );
      assert.equal(
        pod.status?.containerStatuses?.[0]?.imageID,
        `${secured.host}/private/httpd@${layout().manifestDigest}`,
      );
    } finally {
      await secured.stop();
    }
  });

  test("loopkube load image puts a layout in the store, and a Never pod runs it", async () => {
    const local = await buildBusyboxLayout(join(f.dir, "local"), { tag: "1" });
    const loaded = await runLoopkube(
      ["load", "image", local.dir, "--store", f.store, "--name", "demo/local:1"],
      cliEnv(f.dir),
    );
    assert.equal(loaded.code, 0, loaded.stderr);
    // A pod that never ran goes when deleted (kube ends it Failed first).
    await ok(["delete", "pod", "never", "--wait=true"]);
    await ok(["apply", "-f", "-"], podYaml("loaded", "demo/local:1", "Never"));
    const pod = await waitFor(
      async () => {
        const p = await f.pod("loaded");
        return p.status?.phase === "Running" && isReady(p) ? p : undefined;
      },
      { timeoutMs: 60_000, what: "the Never pod running the loaded image" },
    );
    assert.equal(
      pod.status?.containerStatuses?.[0]?.imageID,
      `docker.io/demo/local@${local.manifestDigest}`,
    );
    const ip = pod.status?.podIP ?? "";
    await serves(ip, "hello from 1\n");
  });
});
