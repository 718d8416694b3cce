/**
 * Manifest and config shapes of the OCI image spec and Docker's image manifest v2 schema 2
 * (same JSON shapes, different media types), and the choice of one manifest from an index for
 * the host's platform (as containerd's default platform matcher: os and architecture equal,
 * the variant too when both name one; `linux/arm64` accepts `v8` or none).
 *
 * @module
 */
import { arch } from "node:process";

export const MEDIA = {
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
} as const;

/** Every manifest type we read, for the Accept header (a registry answers 404 otherwise). */
export const MANIFEST_ACCEPT = [
  MEDIA.ociIndex,
  MEDIA.dockerList,
  MEDIA.ociManifest,
  MEDIA.dockerManifest,
];

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os?: string; architecture?: string; variant?: string };
  annotations?: Record<string, string>;
}

export interface ImageManifest {
  schemaVersion: number;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}

export interface ImageIndex {
  schemaVersion: number;
  mediaType?: string;
  manifests: Descriptor[];
}

export interface ImageConfigFile {
  architecture?: string;
  os?: string;
  config?: {
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    Env?: string[] | null;
    WorkingDir?: string;
    User?: string;
    ExposedPorts?: Record<string, unknown> | null;
  };
  rootfs?: { type: string; diff_ids: string[] };
}

export class ManifestError extends Error {
  override name = "ManifestError";
}

/** Parses a manifest body: an index or an image manifest, by media type or shape. */
export function parseManifest(
  body: Buffer,
  contentType?: string,
): { kind: "index"; index: ImageIndex } | { kind: "image"; manifest: ImageManifest } {
  let json: {
    mediaType?: string;
    manifests?: unknown;
    layers?: unknown;
    config?: unknown;
    schemaVersion?: number;
  };
  try {
    json = JSON.parse(body.toString("utf8"));
  } catch {
    throw new ManifestError("the manifest is not JSON");
  }
  const type = json.mediaType ?? contentType?.split(";")[0]?.trim();
  if (json.schemaVersion === 1) throw new ManifestError("image manifest schema 1 is not supported");
  if (type === MEDIA.ociIndex || type === MEDIA.dockerList || Array.isArray(json.manifests))
    return { kind: "index", index: json as ImageIndex };
  if (Array.isArray(json.layers) && typeof json.config === "object")
    return { kind: "image", manifest: json as ImageManifest };
  throw new ManifestError(`unsupported manifest media type ${type ?? "(none)"}`);
}

const GO_ARCH: Record<string, string> = {
  x64: "amd64",
  arm64: "arm64",
  arm: "arm",
  ia32: "386",
  ppc64: "ppc64le",
  s390x: "s390x",
  riscv64: "riscv64",
};

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** This host's platform in OCI words (`linux/amd64`). */
export function hostPlatform(): Platform {
  return { os: "linux", architecture: GO_ARCH[arch] ?? arch };
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`;
}

/** The index entry for `platform`, or undefined (attestation manifests never match). */
export function choosePlatform(index: ImageIndex, platform: Platform): Descriptor | undefined {
  const normVariant = (a: string, v?: string) => (a === "arm64" && v === "v8" ? undefined : v);
  const want = normVariant(platform.architecture, platform.variant);
  return index.manifests.find((m) => {
    const p = m.platform;
    if (!p || p.os !== platform.os || p.architecture !== platform.architecture) return false;
    if (m.annotations?.["vnd.docker.reference.type"] === "attestation-manifest") return false;
    const have = normVariant(p.architecture ?? "", p.variant);
    return want === undefined || have === undefined || have === want;
  });
}
