/**
 * A container root built from Debian's `busybox-static` for the `oci` runtime's tests: the static
 * binary at /bin/busybox, a link per applet, /etc/passwd and /etc/group with root, nobody and a
 * `www` user (uid 33), and an image config as the image store hands it over. No image from the
 * internet. `BUSYBOX` is undefined (and `NO_OCI` says why) where the tests cannot run.
 *
 * @module
 */
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ImageConfig, ImageSource, PreparedImage } from "../src/kubelet/index.ts";

const CANDIDATES = ["/bin/busybox", "/usr/bin/busybox"];

/** A statically linked busybox, or undefined. */
export const BUSYBOX = CANDIDATES.find(
  (p) => existsSync(p) && /statically linked|static-pie/.test(fileType(p)),
);

function fileType(p: string): string {
  const r = spawnSync("file", ["-L", p], { encoding: "utf8" });
  // Without `file`, ldd says "not a dynamic executable" of a static binary.
  if (r.status === 0) return r.stdout;
  const l = spawnSync("ldd", [p], { encoding: "utf8" });
  return `${l.stdout}${l.stderr}`.includes("not a dynamic") ? "statically linked" : "";
}

const onPath = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;

/** Why the oci tests cannot run here, or false. */
export const NO_OCI: string | false =
  process.platform !== "linux" || process.getuid?.() !== 0
    ? "the oci runtime needs root on Linux: run as root to test it"
    : !onPath("crun") && !onPath("runc")
      ? "no OCI runtime: install crun (apt-get install crun) to test the oci runtime"
      : !BUSYBOX
        ? "no static busybox: install busybox-static to build the test image"
        : !onPath("unshare")
          ? "util-linux (unshare) is not installed"
          : false;

/** Writes a busybox root under `dir` and returns it as a prepared image of `ref`. */
export function busyboxImage(dir: string, ref: string, config: ImageConfig = {}): PreparedImage {
  const rootfs = join(dir, "rootfs");
  for (const d of ["bin", "etc", "tmp", "root", "var/www", "proc", "sys", "dev"]) {
    mkdirSync(join(rootfs, d), { recursive: true });
  }
  const bin = join(rootfs, "bin", "busybox");
  if (!existsSync(bin)) {
    copyFileSync(BUSYBOX as string, bin);
    execFileSync("chmod", ["755", bin]);
    const applets = execFileSync(bin, ["--list"], { encoding: "utf8" }).split("\n");
    for (const a of applets) {
      if (a && a !== "busybox") symlinkSync("busybox", join(rootfs, "bin", a));
    }
  }
  writeFileSync(
    join(rootfs, "etc", "passwd"),
    "root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/var/www:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n",
  );
  writeFileSync(
    join(rootfs, "etc", "group"),
    "root:x:0:\nwww:x:33:\nstaff:x:50:www\nnogroup:x:65534:\n",
  );
  writeFileSync(join(rootfs, "IMAGE-ROOT"), `${ref}\n`);
  return {
    ref,
    digest: `sha256:${"0".repeat(64)}`,
    id: `sha256:${"0".repeat(64)}`,
    rootfs,
    config: { env: ["PATH=/bin"], cmd: ["sh"], ...config },
    size: 0,
  };
}

/** An image source over prepared images by reference; an unknown one fails as a pull would. */
export function imageSource(images: PreparedImage[]): ImageSource {
  const byRef = new Map(images.map((i) => [i.ref, i]));
  return {
    prepare: async (ref) => {
      const image = byRef.get(ref);
      if (!image) throw new Error(`failed to pull image "${ref}": not found`);
      return image;
    },
  };
}
