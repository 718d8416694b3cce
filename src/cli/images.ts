/**
 * `loopkube images` (list, `pull`, `rm`, `prune`) and `loopkube load image FILE|DIR`: the
 * image store every cluster of this user shares (`$XDG_DATA_HOME/loopkube/images`, or
 * `--store`). `load image` takes what `kind load image-archive` takes: a `docker save` tarball
 * or an OCI image layout (directory or tarball).
 *
 * @module
 */
import type { Command } from "commander";
import {
  defaultImageStoreRoot,
  ImageInUseError,
  type ImageSummary,
  openImageStore,
  type PullProgress,
  parseReference,
} from "../images/index.ts";
import type { Io } from "./_shared.ts";

/** Bytes as `crictl images` and `docker images` print them (decimal units). */
export function humanSize(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : Number(v.toPrecision(3))}${units[i]}`;
}

/** The rows of `loopkube images`: IMAGE, TAG, IMAGE ID, SIZE (as `crictl images`). */
export function imageRows(list: ImageSummary[]): string[][] {
  const rows: string[][] = [];
  for (const image of list) {
    const id = image.id.replace(/^sha256:/, "").slice(0, 13);
    const names = image.refs.length > 0 ? image.refs : [image.digest];
    for (const name of names) {
      let repo = name;
      let tag = "<none>";
      try {
        const ref = parseReference(name);
        repo = `${ref.domain}/${ref.path}`;
        tag = ref.tag ?? "<none>";
      } catch {}
      rows.push([repo, tag, id, humanSize(image.size)]);
    }
  }
  return rows;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => r[i]?.length ?? 0))) ?? [];
  return rows.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd((widths[i] ?? 0) + 3)))
      .join("")
      .trimEnd(),
  );
}

export function progressLine(p: PullProgress): string {
  const pct = p.totalBytes > 0 ? Math.floor((100 * p.bytes) / p.totalBytes) : 0;
  if (p.phase === "resolving") return `${p.ref}: resolving`;
  if (p.phase === "downloading")
    return `${p.ref}: downloading ${humanSize(p.bytes)}/${humanSize(p.totalBytes)} (${pct}%), ${p.layersDone}/${p.layers} layers`;
  if (p.phase === "unpacking") return `${p.ref}: unpacking ${p.layers} layers`;
  return `${p.ref}: done, ${humanSize(p.totalBytes)}`;
}

type StoreOption = { store?: string };
const storeOf = (o: StoreOption & { insecureRegistry?: string[] }) =>
  openImageStore({
    ...(o.store && { root: o.store }),
    ...(o.insecureRegistry && { insecureRegistries: o.insecureRegistry }),
  });
const STORE_HELP = `the image store (default ${defaultImageStoreRoot().replace(process.env.HOME ?? "\0", "~")}; LOOPKUBE_IMAGE_STORE)`;
const collect = (v: string, prev: string[] = []) => [...prev, v];

export function addImagesCommand(program: Command, io: Io): void {
  const images = program
    .command("images")
    .description("list, pull and remove the container images every cluster of this user shares");
  images
    .command("ls", { isDefault: true })
    .description("list images with their sizes (IMAGE, TAG, IMAGE ID, SIZE)")
    .option("--store <dir>", STORE_HELP)
    .option("-q, --quiet", "print image ids only")
    .action(async (o: StoreOption & { quiet?: boolean }) => {
      const list = await storeOf(o).list();
      if (o.quiet) {
        for (const i of list) io.out(i.id.replace(/^sha256:/, "").slice(0, 13));
        return;
      }
      for (const line of table([["IMAGE", "TAG", "IMAGE ID", "SIZE"], ...imageRows(list)]))
        io.out(line);
    });
  images
    .command("pull <image>")
    .description("pull an image into the store (a progress line on stderr)")
    .option("--store <dir>", STORE_HELP)
    .option(
      "--insecure-registry <host>",
      "reach this registry (host:port) over plain HTTP; loopback registries always are",
      collect,
    )
    .action(async (image: string, o: StoreOption & { insecureRegistry?: string[] }) => {
      const tty = process.stderr.isTTY === true;
      let last = "";
      let lastAt = 0;
      const pulled = await storeOf(o).ensure(image, {
        policy: "Always",
        onProgress: (p) => {
          const line = progressLine(p);
          const now = Date.now();
          if (line === last || (p.phase === "downloading" && now - lastAt < 200)) return;
          last = line;
          lastAt = now;
          if (tty) process.stderr.write(`\r\x1b[K${line}`);
          else if (p.phase !== "downloading") io.err(line);
        },
      });
      if (tty) process.stderr.write("\n");
      io.out(`${pulled.ref} ${pulled.digest}`);
    });
  images
    .command("rm <image...>")
    .description(
      "remove images (by reference, or by id or digest) and free their content; an image a container of any cluster uses is refused",
    )
    .option("--store <dir>", STORE_HELP)
    .action(async (names: string[], o: StoreOption) => {
      const store = storeOf(o);
      for (const name of names) {
        let removed: string[];
        try {
          removed = await store.remove(name);
        } catch (e) {
          if (!(e instanceof ImageInUseError)) throw e;
          io.err(`loopkube: ${e.message}`);
          io.setExitCode(1);
          continue;
        }
        if (removed.length === 0) {
          io.err(`loopkube: no such image: ${name}`);
          io.setExitCode(1);
        }
        for (const r of removed) io.out(`Deleted: ${r}`);
      }
      await store.prune();
    });
  images
    .command("prune")
    .description(
      "free content no image uses; with --all, also images no reference names (images containers use stay)",
    )
    .option("--store <dir>", STORE_HELP)
    .option("-a, --all", "also remove images without a reference")
    .action(async (o: StoreOption & { all?: boolean }) => {
      const r = await storeOf(o).prune({ unreferenced: o.all === true });
      io.out(
        `Total reclaimed space: ${humanSize(r.bytes)} (${r.blobs} blobs, ${r.images.length} images)`,
      );
    });

  program
    .command("load")
    .description("load something into the shared store")
    .command("image <path...>")
    .description(
      "load images from a docker save tarball or an OCI image layout (directory or tarball), like kind load",
    )
    .option("--store <dir>", STORE_HELP)
    .option("--name <image>", "the reference for an image the archive does not name")
    .action(async (paths: string[], o: StoreOption & { name?: string }) => {
      const store = storeOf(o);
      for (const path of paths) {
        const loaded = await store.load(path, o.name ? { name: o.name } : {});
        for (const i of loaded)
          io.out(`Loaded image: ${i.ref} (${humanSize(i.size)}, id ${i.id.slice(7, 19)})`);
      }
    });
}
