/**
 * The kubelet's image step before a container starts (its image manager), for runtimes that run
 * containers from images: the pull policy, the events and the waiting reasons of a real kubelet.
 *
 * - `Never`: present → `Pulled` "Container image … already present on machine"; absent →
 *   waiting `ErrImageNeverPull`, Warning `ErrImageNeverPull`.
 * - `IfNotPresent` with the image present: `Pulled` "already present". Otherwise (and always
 *   for `Always`): `Pulling` "Pulling image …", then `Pulled` "Successfully pulled image … in
 *   …s (…s including waiting). Image size: N bytes." or waiting `ErrImagePull` with Warning
 *   `Failed` "Failed to pull image …: …" and "Error: ErrImagePull".
 * - After a failure the image is not pulled again for this pod until the back-off (10 s
 *   doubling to 300 s, per pod and image, as the kubelet's) has passed; meanwhile the container
 *   waits in `ImagePullBackOff` ("Back-off pulling image …"), with a `BackOff` event. Each
 *   waiting result says when to come back (`retryInMs`): one second after `ErrImagePull` (the
 *   kubelet's next sync, which sees the back-off and reports `ImagePullBackOff`), the end of the
 *   back-off after `ImagePullBackOff` (the next pull).
 * - A container that gets its image holds a lease on it in the store (see images/lease.ts) until
 *   its pod is forgotten or the kubelet stops, so `loopkube images rm`/`prune` of any cluster and
 *   image garbage collection leave it alone.
 * - Every 5 minutes, the kubelet's image garbage collection (images/gc.ts: above 85 % disk use,
 *   unused images least recently used first, down to 80 %).
 * - An image name the reference grammar rejects: waiting `InvalidImageName`, Warning
 *   `InspectFailed`.
 *
 * The policy is the container's `imagePullPolicy` (the API server defaults it from the tag);
 * credentials come from the pod's `imagePullSecrets`. Time comes from the injected `now`.
 *
 * @module
 */
import type { Container, Pod } from "kubernetes-types/core/v1.js";
import { REFS } from "../api/refs.ts";
import type { ApiVerbs } from "../api/verbs.ts";
import {
  type Credentials,
  defaultPullPolicy,
  type EnsureOptions,
  formatReference,
  ImageNotPresentError,
  InvalidReferenceError,
  type PreparedImage,
  type PullPolicy,
  parseReference,
  RegistryError,
  secretCredentials,
} from "../images/index.ts";

export interface ImageEnsurer {
  ensure(image: string, options: EnsureOptions): Promise<PreparedImage>;
  list(): Promise<{ refs: string[]; digest: string; size: number }[]>;
  /** Resolves when the image's registry answers at all; throws when it cannot be reached. */
  ping(image: string, timeoutMs: number): Promise<void>;
  /** Drops the leases (`EnsureOptions.lease`) whose key starts with `keyPrefix`. */
  release?(keyPrefix: string): Promise<void>;
  /** Image garbage collection by the kubelet's thresholds (images/gc.ts). */
  collectGarbage?(): Promise<{ images: string[]; bytes: number }>;
}

/** How often the kubelet's image garbage collection looks at the disk (its ImageGCPeriod). */
export const IMAGE_GC_PERIOD_MS = 5 * 60_000;

/** How long a registry's answer to a ping (or its silence) is remembered. */
export const REACHABILITY_TTL_MS = 30_000;
/** How long a ping waits for the registry. */
const PING_TIMEOUT_MS = 5_000;

export type PullResult =
  | { image: PreparedImage; imageID: string }
  | {
      waiting: { reason: string; message: string };
      /**
       * When to try the container again: soon after a failed pull (the kubelet syncs the pod
       * again on its sandbox's events, so ImagePullBackOff shows within seconds), at the end of
       * the back-off while in it; absent: the worker's usual retry.
       */
      retryInMs?: number;
    };

/** How soon a container whose pull failed is tried again (it then shows ImagePullBackOff). */
export const RETRY_AFTER_FAILED_PULL_MS = 1_000;

export interface ImagePullDeps {
  store: ImageEnsurer;
  /** The credentials of the pod's imagePullSecrets (missing secrets are skipped). */
  credentialsOf(pod: Pod): Promise<Credentials>;
  now(): number;
  /** Pull back-off; default 10 s doubling to 300 s. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Who the kubelet is, in lease holders' names (`in cluster dev`). */
  holder?: string;
  /** Image garbage collection every this often (default 5 min; 0: never). */
  gcPeriodMs?: number;
  /** Told what each garbage collection removed (when it removed something). */
  onCollected?: (r: { images: string[]; bytes: number }) => void;
  onError?: (e: unknown) => void;
}

export type PullEmit = (type: "Normal" | "Warning", reason: string, message: string) => void;
type Emit = PullEmit;

/** The credentials in the pod's imagePullSecrets (a secret that cannot be read is skipped, as
 *  the kubelet does, with the pull then trying without it). */
export async function pullSecretCredentials(client: ApiVerbs, pod: Pod): Promise<Credentials> {
  const out: Credentials = [];
  for (const ref of pod.spec?.imagePullSecrets ?? []) {
    if (!ref.name) continue;
    try {
      const secret = (await client.get(
        REFS.secrets,
        pod.metadata?.namespace ?? "default",
        ref.name,
      )) as {
        type?: string;
        data?: Record<string, string>;
      };
      out.push(...secretCredentials(secret));
    } catch {}
  }
  return out;
}

interface BackoffEntry {
  until: number;
  delay: number;
  error: string;
}

/** `1.234s` as Go prints a time.Duration (kube's event texts do). */
function seconds(ms: number): string {
  if (ms < 1000) return `${Number(ms.toFixed(3))}ms`;
  return `${Number((ms / 1000).toFixed(9))}s`;
}

/** What kube reports as a container's imageID: `repository@digest`. */
export function imageIdOf(image: PreparedImage): string {
  const ref = parseReference(image.ref);
  return `${ref.domain}/${ref.path}@${image.digest}`;
}

/** A registry error as the kubelet shows a CRI pull failure. */
export function pullErrorMessage(name: string, e: unknown): string {
  if (e instanceof RegistryError) {
    if (e.code === "NotFound")
      return `rpc error: code = NotFound desc = failed to pull and unpack image "${name}": failed to resolve reference "${name}": ${name}: not found`;
    if (e.code === "Unauthorized")
      return `rpc error: code = Unknown desc = failed to pull and unpack image "${name}": failed to resolve reference "${name}": pull access denied, repository does not exist or may require authorization: ${e.message}`;
  }
  return `rpc error: code = Unknown desc = failed to pull and unpack image "${name}": ${e instanceof Error ? e.message : String(e)}`;
}

export class ImagePuller {
  private readonly backoffs = new Map<string, BackoffEntry>();
  /** Registry domain → when it was pinged and what came of it (see `unreachable`). */
  private readonly reachability = new Map<
    string,
    { at: number; result: Promise<string | undefined> }
  >();
  private readonly initial: number;
  private readonly max: number;
  /** Pods holding image leases (released by `forget` and `close`). */
  private readonly leased = new Set<string>();

  private readonly gcTimer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: ImagePullDeps) {
    this.initial = deps.initialBackoffMs ?? 10_000;
    this.max = deps.maxBackoffMs ?? 300_000;
    const period = deps.gcPeriodMs ?? IMAGE_GC_PERIOD_MS;
    if (period > 0 && deps.store.collectGarbage) {
      this.gcTimer = setInterval(() => void this.collectGarbage(), period);
      this.gcTimer.unref();
    }
  }

  /** One image garbage collection (the store's policy: 85 % high, 80 % low, 2 min min age). */
  async collectGarbage(): Promise<void> {
    try {
      const r = await this.deps.store.collectGarbage?.();
      if (r && r.images.length > 0) this.deps.onCollected?.(r);
    } catch (e) {
      this.deps.onError?.(e);
    }
  }

  /**
   * For the `auto` runtime's fallback (a pod whose containers all name a command runs them from
   * the host when its images cannot be had offline): why an image of the pod cannot be pulled
   * because its registry cannot be reached (a failed name lookup, a refused connection, no
   * answer within 5 s), or undefined when every image is present where its pull policy allows
   * that, or its registry answers. A registry's answer or silence is remembered for 30 s, and
   * pods asking meanwhile share one ping, so a burst of pods costs one lookup. An image absent
   * with policy `Never`, an invalid name or a registry that answers (404, 401) are no reason:
   * those pods wait in kube's ErrImageNeverPull, InvalidImageName or ErrImagePull.
   */
  async unreachable(pod: Pod): Promise<string | undefined> {
    const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
    for (const image of new Set(containers.map((c) => c.image ?? ""))) {
      let domain: string;
      try {
        domain = parseReference(image).domain;
      } catch {
        continue;
      }
      const spec = containers.find((c) => c.image === image);
      const policy = (spec?.imagePullPolicy as PullPolicy | undefined) ?? defaultPullPolicy(image);
      if (policy === "Never") continue;
      if (policy === "IfNotPresent") {
        const have = await this.deps.store.ensure(image, { policy: "Never" }).then(
          () => true,
          () => false,
        );
        if (have) continue;
      }
      const why = await this.reach(domain, image);
      if (why) return `image "${image}" cannot be pulled: ${why}`;
    }
    return undefined;
  }

  private async reach(domain: string, image: string): Promise<string | undefined> {
    const now = this.deps.now();
    const known = this.reachability.get(domain);
    if (known && now - known.at < REACHABILITY_TTL_MS) return known.result;
    const result = this.deps.store.ping(image, PING_TIMEOUT_MS).then(
      () => undefined,
      (e: unknown) =>
        `registry ${domain} unreachable (${e instanceof Error ? e.message : String(e)})`,
    );
    this.reachability.set(domain, { at: now, result });
    return result;
  }

  /** Forgets a pod's back-offs and releases its images (when it is gone). */
  forget(podUid: string): Promise<void> {
    for (const key of this.backoffs.keys())
      if (key.startsWith(`${podUid}_`)) this.backoffs.delete(key);
    if (!this.leased.delete(podUid)) return Promise.resolve();
    return this.deps.store.release?.(`${podUid}_`) ?? Promise.resolve();
  }

  /** Releases every image lease this kubelet holds and stops garbage collection (at stop). */
  async close(): Promise<void> {
    clearInterval(this.gcTimer);
    for (const uid of [...this.leased]) await this.forget(uid);
  }

  async pull(pod: Pod, container: Container, emit: Emit): Promise<PullResult> {
    const image = container.image ?? "";
    try {
      parseReference(image);
    } catch (e) {
      if (!(e instanceof InvalidReferenceError)) throw e;
      const message = `Failed to apply default image tag "${image}": couldn't parse image name "${image}": invalid reference format`;
      emit("Warning", "InspectFailed", message);
      emit("Warning", "Failed", "Error: InvalidImageName");
      return { waiting: { reason: "InvalidImageName", message } };
    }
    const policy =
      (container.imagePullPolicy as PullPolicy | undefined) ?? defaultPullPolicy(image);
    const uid = pod.metadata?.uid ?? "";
    const lease = uid
      ? {
          key: `${uid}_${container.name}`,
          holder: `pod ${pod.metadata?.namespace ?? "default"}/${pod.metadata?.name ?? ""} (container ${container.name})${this.deps.holder ? ` in ${this.deps.holder}` : ""}`,
        }
      : undefined;
    if (lease) this.leased.add(uid);
    const present = async () => {
      try {
        return await this.deps.store.ensure(image, { policy: "Never", ...(lease && { lease }) });
      } catch (e) {
        if (e instanceof ImageNotPresentError) return undefined;
        throw e;
      }
    };
    if (policy !== "Always") {
      const have = await present();
      if (have) {
        emit("Normal", "Pulled", `Container image "${image}" already present on machine`);
        return { image: have, imageID: imageIdOf(have) };
      }
      if (policy === "Never") {
        const message = `Container image "${image}" is not present with pull policy of Never`;
        emit("Warning", "ErrImageNeverPull", message);
        emit("Warning", "Failed", "Error: ErrImageNeverPull");
        return { waiting: { reason: "ErrImageNeverPull", message } };
      }
    }
    const key = `${uid}_${image}`;
    const now = this.deps.now();
    const back = this.backoffs.get(key);
    if (back && now < back.until) {
      emit("Normal", "BackOff", `Back-off pulling image "${image}"`);
      emit("Warning", "Failed", "Error: ImagePullBackOff");
      return {
        waiting: {
          reason: "ImagePullBackOff",
          message: `Back-off pulling image "${image}": ErrImagePull: ${back.error}`,
        },
        retryInMs: Math.max(back.until - now, RETRY_AFTER_FAILED_PULL_MS),
      };
    }
    emit("Normal", "Pulling", `Pulling image "${image}"`);
    const started = this.deps.now();
    try {
      const credentials = await this.deps.credentialsOf(pod);
      const pulled = await this.deps.store.ensure(image, {
        policy: "Always",
        credentials,
        ...(lease && { lease }),
      });
      this.backoffs.delete(key);
      const took = seconds(this.deps.now() - started);
      emit(
        "Normal",
        "Pulled",
        `Successfully pulled image "${image}" in ${took} (${took} including waiting). Image size: ${pulled.size} bytes.`,
      );
      return { image: pulled, imageID: imageIdOf(pulled) };
    } catch (e) {
      const message = pullErrorMessage(formatReference(parseReference(image)), e);
      const delay = back ? Math.min(back.delay * 2, this.max) : this.initial;
      this.backoffs.set(key, { until: this.deps.now() + delay, delay, error: message });
      emit("Warning", "Failed", `Failed to pull image "${image}": ${message}`);
      emit("Warning", "Failed", "Error: ErrImagePull");
      return {
        waiting: { reason: "ErrImagePull", message },
        retryInMs: RETRY_AFTER_FAILED_PULL_MS,
      };
    }
  }
}

/**
 * The node's `status.images` from the store's list, as the kubelet reports them: largest first,
 * at most 50, each named by its references and `repository@digest`.
 */
export function nodeImages(
  list: { refs: string[]; digest: string; size: number }[],
): { names: string[]; sizeBytes: number }[] {
  return list
    .map((i) => {
      const repos = new Set<string>();
      for (const r of i.refs) {
        const ref = parseReference(r);
        repos.add(`${ref.domain}/${ref.path}@${i.digest}`);
      }
      return { names: [...repos, ...i.refs.filter((r) => !r.includes("@"))], sizeBytes: i.size };
    })
    .filter((i) => i.names.length > 0)
    .sort((a, b) => b.sizeBytes - a.sizeBytes)
    .slice(0, 50);
}
