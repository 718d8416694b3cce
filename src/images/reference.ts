/**
 * Image references as Docker and containerd read them (distribution's `reference` grammar with
 * Docker Hub's normalization): `nginx` → `docker.io/library/nginx:latest`, `user/app:1` →
 * `docker.io/user/app:1`, a first component holding `.` or `:` (or `localhost`, or upper case)
 * is a registry host (`127.0.0.1:5000/demo/httpd:1`). A reference with neither tag nor digest
 * gets the tag `latest`; one with a digest is pulled by that digest.
 *
 * Pure; `parseReference` throws `InvalidReferenceError` ("invalid reference format", as the
 * grammar's error reads) for anything the grammar rejects.
 *
 * @module
 */

export const DOCKER_HUB = "docker.io";
/** Where Docker Hub's registry API answers (the name `docker.io` has no registry API). */
export const DOCKER_HUB_API = "registry-1.docker.io";

export interface ImageReference {
  /** Registry host, with port if any: `docker.io`, `127.0.0.1:5000`. */
  domain: string;
  /** Repository path inside the registry: `library/nginx`. */
  path: string;
  /** The tag, if named or defaulted (`latest` when neither tag nor digest was given). */
  tag?: string;
  /** `sha256:…` when the reference names a digest. */
  digest?: string;
}

export class InvalidReferenceError extends Error {
  constructor(readonly image: string) {
    super("invalid reference format");
    this.name = "InvalidReferenceError";
  }
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const DOMAIN =
  /^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$/;
const NAME_MAX = 255;

/** Parses and normalizes `image` as Docker does; throws `InvalidReferenceError`. */
export function parseReference(image: string): ImageReference {
  if (image === "" || image.trim() !== image) throw new InvalidReferenceError(image);
  let rest = image;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw new InvalidReferenceError(image);
    if (digest.startsWith("sha256:") && !/^sha256:[a-f0-9]{64}$/.test(digest))
      throw new InvalidReferenceError(image);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw new InvalidReferenceError(image);
  }
  let domain = DOCKER_HUB;
  let path = rest;
  const slash = rest.indexOf("/");
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (/[.:]/.test(first) || first === "localhost" || first.toLowerCase() !== first) {
      domain = first;
      path = rest.slice(slash + 1);
    }
  }
  if (!DOMAIN.test(domain)) throw new InvalidReferenceError(image);
  if (domain === "index.docker.io") domain = DOCKER_HUB;
  if (domain === DOCKER_HUB && !path.includes("/")) path = `library/${path}`;
  if (path === "" || !path.split("/").every((c) => COMPONENT.test(c)))
    throw new InvalidReferenceError(image);
  if (`${domain}/${path}`.length > NAME_MAX) throw new InvalidReferenceError(image);
  if (tag === undefined && digest === undefined) tag = "latest";
  return {
    domain,
    path,
    ...(tag !== undefined && { tag }),
    ...(digest !== undefined && { digest }),
  };
}

/** The normalized string form: `docker.io/library/nginx:latest`, `host/p@sha256:…`. */
export function formatReference(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}${ref.tag !== undefined ? `:${ref.tag}` : ""}${ref.digest !== undefined ? `@${ref.digest}` : ""}`;
}

/** `docker.io/library/nginx` — the repository without tag or digest. */
export function repositoryOf(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}`;
}

/**
 * The pull policy Kubernetes defaults a container to: `Always` for the tag `latest` (named or
 * implied), `IfNotPresent` otherwise (a digest without a tag included).
 */
export function defaultPullPolicy(image: string): "Always" | "IfNotPresent" {
  try {
    return parseReference(image).tag === "latest" ? "Always" : "IfNotPresent";
  } catch {
    return "IfNotPresent";
  }
}

/** True for hosts that never leave the machine: `localhost`, 127.0.0.0/8, `[::1]`. */
export function isLoopbackHost(domain: string): boolean {
  const host = domain.startsWith("[")
    ? domain.slice(1, domain.indexOf("]"))
    : domain.replace(/:\d+$/, "");
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}
