/**
 * Test images and registries, with nothing from the internet: `buildBusyboxLayout` writes an OCI
 * image layout whose one layer holds Debian's static busybox (`/bin/busybox`, package
 * `busybox-static`) with its applets as symlinks, /etc/passwd and a page for `httpd`;
 * `startRegistry` runs Debian's `docker-registry` (the CNCF distribution registry) on a free
 * loopback port, optionally behind htpasswd basic auth; `skopeoCopy` pushes a layout there (or
 * writes a `docker save` tarball). `imageToolsMissing` names what is absent, for a visible skip.
 *
 * @module
 */
import { execFile, execFileSync, spawn } from "node:child_process";
import {
  createHash,
  createPrivateKey,
  sign as cryptoSign,
  randomUUID,
  X509Certificate,
} from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { pack } from "tar-stream";

const run = promisify(execFile);
export const BUSYBOX = "/bin/busybox";
const APPLETS = [
  "sh",
  "ls",
  "cat",
  "echo",
  "sleep",
  "httpd",
  "wget",
  "nslookup",
  "env",
  "id",
  "hostname",
  "mkdir",
  "touch",
  "rm",
  "ps",
  "pwd",
  "true",
  "false",
  "test",
  "head",
  "grep",
  "whoami",
  "tty",
  "stty",
];

/** The tools these helpers need that are not installed (empty when all are). */
export function imageToolsMissing(
  tools = ["docker-registry", "skopeo", "openssl", "python3"],
): string[] {
  const missing = existsSync(BUSYBOX) ? [] : ["busybox-static"];
  for (const t of tools) {
    try {
      execFileSync("sh", ["-c", `command -v ${t}`], { stdio: "ignore" });
    } catch {
      missing.push(t);
    }
  }
  return missing;
}

export interface LayoutOptions {
  /** The tag written as `org.opencontainers.image.ref.name` (default `latest`). */
  tag?: string;
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  workingDir?: string;
  user?: string;
  exposedPorts?: string[];
  /** Extra files (path → content) in the same layer; a second layer when `extraLayer`. */
  files?: Record<string, string>;
  extraLayer?: Record<string, string | null>;
  compression?: "gzip" | "none";
  /** Write an image index (this platform's manifest plus one for another) instead. */
  asIndex?: boolean;
}

export interface Layout {
  dir: string;
  tag: string;
  manifestDigest: string;
  configDigest: string;
}

type TarEntry = {
  name: string;
  type: "file" | "directory" | "symlink";
  mode?: number;
  body?: Buffer;
  linkname?: string;
};

async function tarOf(entries: TarEntry[]): Promise<Buffer> {
  const p = pack();
  for (const e of entries) {
    const header = {
      name: e.name,
      type: e.type,
      mode: e.mode ?? (e.type === "directory" ? 0o755 : 0o644),
      mtime: new Date(0),
    };
    if (e.type === "file") p.entry(header, e.body ?? Buffer.alloc(0));
    else if (e.type === "symlink") p.entry({ ...header, linkname: e.linkname ?? "" });
    else p.entry(header);
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const sha = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** Writes a busybox image as an OCI layout in `dir` (created). */
export async function buildBusyboxLayout(
  dir: string,
  options: LayoutOptions = {},
): Promise<Layout> {
  const tag = options.tag ?? "latest";
  const entries: TarEntry[] = [
    { name: "bin/", type: "directory" },
    { name: "bin/busybox", type: "file", mode: 0o755, body: readFileSync(BUSYBOX) },
    ...APPLETS.map((a): TarEntry => ({ name: `bin/${a}`, type: "symlink", linkname: "busybox" })),
    { name: "usr/", type: "directory" },
    { name: "usr/bin", type: "symlink", linkname: "../bin" },
    { name: "etc/", type: "directory" },
    {
      name: "etc/passwd",
      type: "file",
      body: Buffer.from(
        "root:x:0:0:root:/root:/bin/sh\nwww:x:1000:1000:www:/www:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
      ),
    },
    {
      name: "etc/group",
      type: "file",
      body: Buffer.from("root:x:0:\nwww:x:1000:\nnogroup:x:65534:\n"),
    },
    { name: "www/", type: "directory" },
    { name: "www/index.html", type: "file", body: Buffer.from(`hello from ${tag}\n`) },
    { name: "tmp/", type: "directory", mode: 0o1777 },
    { name: "root/", type: "directory", mode: 0o700 },
    ...["proc/", "sys/", "dev/"].map((n): TarEntry => ({ name: n, type: "directory" })),
    ...Object.entries(options.files ?? {}).map(
      ([name, body]): TarEntry => ({ name, type: "file", body: Buffer.from(body) }),
    ),
  ];
  const layers: { tar: Buffer; blob: Buffer }[] = [];
  const compress = (tar: Buffer) => (options.compression === "none" ? tar : gzipSync(tar));
  const base = await tarOf(entries);
  layers.push({ tar: base, blob: compress(base) });
  if (options.extraLayer) {
    const extra = await tarOf(
      Object.entries(options.extraLayer).map(([name, body]): TarEntry => {
        if (body !== null) return { name, type: "file", body: Buffer.from(body) };
        const slash = name.lastIndexOf("/");
        return { name: `${name.slice(0, slash + 1)}.wh.${name.slice(slash + 1)}`, type: "file" };
      }),
    );
    layers.push({ tar: extra, blob: compress(extra) });
  }
  const config = Buffer.from(
    JSON.stringify({
      architecture: { x64: "amd64", arm64: "arm64" }[process.arch as string] ?? process.arch,
      os: "linux",
      config: {
        Env: options.env ?? ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        ...(options.entrypoint && { Entrypoint: options.entrypoint }),
        Cmd: options.cmd ?? ["httpd", "-f", "-p", "80", "-h", "/www"],
        ...(options.workingDir && { WorkingDir: options.workingDir }),
        ...(options.user && { User: options.user }),
        ExposedPorts: Object.fromEntries((options.exposedPorts ?? ["80/tcp"]).map((p) => [p, {}])),
      },
      rootfs: { type: "layers", diff_ids: layers.map((l) => sha(l.tar)) },
      history: layers.map(() => ({ created_by: "loopkube test image" })),
    }),
  );
  const layerType =
    options.compression === "none"
      ? "application/vnd.oci.image.layer.v1.tar"
      : "application/vnd.oci.image.layer.v1.tar+gzip";
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: sha(config),
        size: config.length,
      },
      layers: layers.map((l) => ({
        mediaType: layerType,
        digest: sha(l.blob),
        size: l.blob.length,
      })),
    }),
  );
  const blobs = join(dir, "blobs", "sha256");
  mkdirSync(blobs, { recursive: true });
  for (const b of [config, manifest, ...layers.map((l) => l.blob)])
    writeFileSync(join(blobs, sha(b).slice(7)), b);
  let top = {
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    digest: sha(manifest),
    size: manifest.length,
  };
  if (options.asIndex) {
    const otherConfig = Buffer.from(
      config.toString().replace(/"architecture":"[^"]*"/, '"architecture":"s390x"'),
    );
    const other = Buffer.from(
      manifest
        .toString()
        .replace(sha(config), sha(otherConfig))
        .replace(/"size":\d+/, `"size":${otherConfig.length}`),
    );
    const arch = JSON.parse(config.toString()).architecture as string;
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: [
          {
            mediaType: top.mediaType,
            digest: sha(other),
            size: other.length,
            platform: { os: "linux", architecture: "s390x" },
          },
          { ...top, platform: { os: "linux", architecture: arch } },
        ],
      }),
    );
    for (const b of [otherConfig, other, index]) writeFileSync(join(blobs, sha(b).slice(7)), b);
    top = {
      mediaType: "application/vnd.oci.image.index.v1+json",
      digest: sha(index),
      size: index.length,
    };
  }
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ ...top, annotations: { "org.opencontainers.image.ref.name": tag } }],
    }),
  );
  return { dir, tag, manifestDigest: top.digest, configDigest: sha(config) };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface TestRegistry {
  /** `127.0.0.1:PORT` */
  host: string;
  stop(): Promise<void>;
}

function htpasswdLine(user: string, password: string): string {
  const hash = execFileSync(
    "python3",
    [
      "-c",
      "import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))",
      password,
    ],
    { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
  ).trim();
  return `${user}:${hash}\n`;
}

/**
 * A token server for `docker-registry`'s token auth: ES256 JWTs whose `x5c` header carries a
 * self-signed certificate (openssl) that the registry trusts. Anonymous requests get `pull` on
 * repositories under `publicPrefix`; the user gets every action asked for.
 */
async function startTokenServer(
  dir: string,
  o: { username: string; password: string; publicPrefix: string },
): Promise<{ realm: string; certFile: string; close(): void }> {
  const keyFile = join(dir, "token.key");
  const certFile = join(dir, "token.crt");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      keyFile,
      "-out",
      certFile,
      "-subj",
      "/CN=loopkube-test-token",
      "-days",
      "2",
    ],
    { stdio: "ignore" },
  );
  const key = createPrivateKey(readFileSync(keyFile));
  const der = new X509Certificate(readFileSync(certFile)).raw.toString("base64");
  const b64url = (b: Buffer | string) => Buffer.from(b).toString("base64url");
  const server = createHttpServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const auth = req.headers.authorization ?? "";
    const user = auth.startsWith("Basic ") ? Buffer.from(auth.slice(6), "base64").toString() : "";
    if (user && user !== `${o.username}:${o.password}`) {
      res.writeHead(401).end();
      return;
    }
    const access = url.searchParams.getAll("scope").flatMap((scope) => {
      const [type, name = "", actions = ""] = scope.split(":");
      const granted = user
        ? actions.split(",")
        : name.startsWith(o.publicPrefix)
          ? actions.split(",").filter((a) => a === "pull")
          : [];
      return granted.length ? [{ type, name, actions: granted }] : [];
    });
    const now = Math.floor(Date.now() / 1000);
    const header = b64url(JSON.stringify({ alg: "ES256", typ: "JWT", x5c: [der] }));
    const claims = b64url(
      JSON.stringify({
        iss: "loopkube-test",
        sub: user.split(":")[0] ?? "",
        aud: url.searchParams.get("service") ?? "",
        exp: now + 300,
        nbf: now - 10,
        iat: now,
        jti: randomUUID(),
        access,
      }),
    );
    const sig = cryptoSign("sha256", Buffer.from(`${header}.${claims}`), {
      key,
      dsaEncoding: "ieee-p1363",
    });
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ token: `${header}.${claims}.${b64url(sig)}`, expires_in: 300 }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return { realm: `http://127.0.0.1:${port}/token`, certFile, close: () => server.close() };
}

/**
 * Starts `docker-registry` on a free loopback port; with `basicAuth`, behind htpasswd; with
 * `tokenAuth`, behind a token server (anonymous pulls of `publicPrefix*` repositories only).
 */
export async function startRegistry(
  options: {
    basicAuth?: { username: string; password: string };
    tokenAuth?: { username: string; password: string; publicPrefix: string };
  } = {},
): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), "lk-registry-"));
  let auth = "";
  let tokens: { close(): void } | undefined;
  if (options.tokenAuth) {
    const t = await startTokenServer(dir, options.tokenAuth);
    tokens = t;
    auth = `auth:\n  token:\n    realm: ${t.realm}\n    service: loopkube-test-registry\n    issuer: loopkube-test\n    rootcertbundle: ${t.certFile}\n`;
  }
  if (options.basicAuth) {
    writeFileSync(
      join(dir, "htpasswd"),
      htpasswdLine(options.basicAuth.username, options.basicAuth.password),
    );
    auth = `auth:\n  htpasswd:\n    realm: loopkube-test\n    path: ${join(dir, "htpasswd")}\n`;
  }
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    writeFileSync(
      join(dir, "config.yml"),
      `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, "data")}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n  secret: test-${port}\n${auth}`,
    );
    const child = spawn("docker-registry", ["serve", join(dir, "config.yml")], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    let exited = false;
    child.on("exit", () => {
      exited = true;
    });
    const deadline = Date.now() + 15_000;
    let up = false;
    while (!exited && Date.now() < deadline) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/v2/`);
        await res.body?.cancel();
        up = res.status === 200 || res.status === 401;
        if (up) break;
      } catch {}
      await new Promise((r) => setTimeout(r, 50));
    }
    if (up)
      return {
        host: `127.0.0.1:${port}`,
        async stop() {
          if (!exited) {
            const gone = new Promise((r) => child.once("exit", r));
            child.kill("SIGTERM");
            await gone;
          }
          tokens?.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    child.kill("SIGKILL");
    if (attempt >= 2) {
      tokens?.close();
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`docker-registry did not start: ${stderr.slice(-500)}`);
    }
  }
}

/**
 * `skopeo copy` from an OCI layout (`oci:DIR:TAG`) to `docker://HOST/PATH:TAG` (plain HTTP) or
 * to a `docker-archive:FILE:REF` tarball (what `docker save` writes).
 */
export async function skopeoCopy(
  from: string,
  to: string,
  options: { destCreds?: string; zstd?: boolean; all?: boolean } = {},
): Promise<void> {
  await run(
    "skopeo",
    [
      "--insecure-policy",
      "copy",
      "--quiet",
      ...(to.startsWith("docker://") ? ["--dest-tls-verify=false"] : []),
      ...(options.destCreds ? ["--dest-creds", options.destCreds] : []),
      ...(options.all ? ["--all"] : []),
      ...(options.zstd ? ["--dest-compress", "--dest-compress-format", "zstd"] : []),
      from,
      to,
    ],
    { timeout: 120_000 },
  );
}
