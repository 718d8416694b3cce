/**
 * Issue 18: a StatefulSet running an image keeps its volume's data across a restart of loopkube
 * (the cluster stopped and started again on the same data directory), with the real kubectl and
 * a busybox `httpd` image pulled from a `docker-registry` on a free loopback port: `web-0` gets
 * its hostname written into its PVC at `/usr/share/nginx/html`, and after the restart the pod is
 * back, with the same name and address, serving the same page from the image it pulled before.
 *
 * Needs root, crun (or runc), docker-registry, skopeo and busybox-static; skips visibly else.
 * Network safety: `ip route get` shows where each address goes before anything is sent to it.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fetchText, imageCluster, imagesSkip, nginxStatefulSet, serves } from "./_images.ts";

const SKIP = imagesSkip("images-restart.test.ts");

describe("a StatefulSet's data across a restart of loopkube (oci runtime)", { skip: SKIP }, () => {
  const f = imageCluster("images-restart", {
    images: {
      "nginx:1": { tag: "1", cmd: ["httpd", "-f", "-p", "80", "-h", "/usr/share/nginx/html"] },
    },
  });
  const { ok } = f;
  const web0 = async () =>
    (await f.readyPods("app=nginx", 1, (p) => p.metadata?.name === "web-0"))[0] ??
    assert.fail("no web-0");

  test("web-0 serves what it wrote into its volume after loopkube stops and starts again", async () => {
    await ok(["apply", "-f", "-"], JSON.stringify(nginxStatefulSet(f.ref("nginx:1"), 1)));
    const first = await web0();
    await ok(["exec", "web-0", "--", "sh", "-c", "hostname > /usr/share/nginx/html/index.html"]);
    const ip = first.status?.podIP ?? "";
    await serves(ip, "web-0\n");

    await f.stopCluster();
    assert.notEqual(await fetchText(ip).catch(() => "gone"), "web-0\n", "stopped with loopkube");
    // The registry goes too: the pod must start again from the image the store already holds.
    await f.registry.stop();
    await f.startCluster();
    const again = await web0();
    assert.equal(again.status?.podIP, ip, "the same address");
    await serves(ip, "web-0\n");
  });
});
