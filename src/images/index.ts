/**
 * Container images: references, registries, a content-addressed store shared by every cluster
 * of one user, and roots unpacked once per image. The one entry for everything outside.
 *
 * `openImageStore(options).ensure(image, { policy, credentials, onProgress })` gives a runtime a
 * `PreparedImage`: the image present per the pull policy, verified and unpacked into a root
 * directory that is shared and never written (a runtime layers a writable root over it).
 *
 * @module
 */
import { ImageStore, type ImageStoreOptions } from "./store.ts";

export {
  type Credential,
  type Credentials,
  credentialFor,
  dockerConfigCredentials,
  secretCredentials,
} from "./credentials.ts";
export {
  DEFAULT_IMAGE_GC_POLICY,
  type DiskUsage,
  type GcCandidate,
  type ImageGcPolicy,
  imagesToCollect,
} from "./gc.ts";
export type { Lease, LeaseRequest } from "./lease.ts";
export { type LoadOptions, loadImages } from "./load.ts";
export { hostPlatform, type Platform } from "./manifest.ts";
export {
  defaultPullPolicy,
  formatReference,
  type ImageReference,
  InvalidReferenceError,
  isLoopbackHost,
  parseReference,
} from "./reference.ts";
export { RegistryError } from "./registry.ts";
export {
  defaultImageStoreRoot,
  type EnsureOptions,
  type ImageConfig,
  ImageInUseError,
  ImageNotPresentError,
  type ImageRecord,
  ImageStore,
  type ImageStoreOptions,
  type ImageSummary,
  type PreparedImage,
  type PullPolicy,
  type PullProgress,
} from "./store.ts";
export { UnpackError } from "./unpack.ts";

/** Opens the image store (the user's shared one unless `options.root` names another). */
export function openImageStore(options: ImageStoreOptions = {}): ImageStore {
  return new ImageStore(options);
}
