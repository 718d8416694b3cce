/**
 * Image garbage collection as the kubelet's image manager does it: when the disk the images are
 * on is used at `highThresholdPercent` or more (imageGCHighThresholdPercent, default 85), remove
 * unused images, least recently used first, until usage would be down to `lowThresholdPercent`
 * (imageGCLowThresholdPercent, default 80). An image in use (leased by a container) or first
 * seen less than `minAgeMs` ago (imageMinimumGCAge, default 2 min) stays.
 *
 * A high threshold of 100 turns it off. `imagesToCollect` is the pure policy; `ImageStore.collectGarbage` applies it to the store.
 *
 * @module
 */

export interface ImageGcPolicy {
  highThresholdPercent: number;
  lowThresholdPercent: number;
  minAgeMs: number;
}

export const DEFAULT_IMAGE_GC_POLICY: ImageGcPolicy = {
  highThresholdPercent: 85,
  lowThresholdPercent: 80,
  minAgeMs: 120_000,
};

export interface GcCandidate {
  digest: string;
  size: number;
  /** When a container last used it (ms). */
  lastUsed: number;
  /** When the store first had it (ms). */
  created: number;
  inUse: boolean;
}

export interface DiskUsage {
  capacity: number;
  available: number;
}

/**
 * The digests to remove, in removal order, and the bytes they are expected to free. Nothing
 * when usage is below the high threshold; else the least recently used unused images older than
 * `minAgeMs`, until `capacity × (100 − low) / 100 − available` bytes are freed (the kubelet's
 * amount), or none are left.
 */
export function imagesToCollect(
  images: readonly GcCandidate[],
  disk: DiskUsage,
  policy: ImageGcPolicy,
  now: number,
): { digests: string[]; bytes: number; needed: number } {
  // 100 turns image garbage collection off, as in the kubelet's configuration.
  if (disk.capacity <= 0 || policy.highThresholdPercent >= 100)
    return { digests: [], bytes: 0, needed: 0 };
  const usedPercent = (100 * (disk.capacity - disk.available)) / disk.capacity;
  if (usedPercent < policy.highThresholdPercent) return { digests: [], bytes: 0, needed: 0 };
  const needed =
    Math.floor((disk.capacity * (100 - policy.lowThresholdPercent)) / 100) - disk.available;
  if (needed <= 0) return { digests: [], bytes: 0, needed: 0 };
  const order = images
    .filter((i) => !i.inUse && now - i.created >= policy.minAgeMs)
    .sort((a, b) => a.lastUsed - b.lastUsed || a.digest.localeCompare(b.digest));
  const digests: string[] = [];
  let bytes = 0;
  for (const i of order) {
    if (bytes >= needed) break;
    digests.push(i.digest);
    bytes += i.size;
  }
  return { digests, bytes, needed };
}

/** Validates a policy as the kubelet's config validation does. */
export function checkGcPolicy(policy: ImageGcPolicy): void {
  const { highThresholdPercent: high, lowThresholdPercent: low } = policy;
  if (!(high >= 0 && high <= 100))
    throw new Error(`imageGCHighThresholdPercent (${high}) must be between 0 and 100`);
  if (!(low >= 0 && low <= 100))
    throw new Error(`imageGCLowThresholdPercent (${low}) must be between 0 and 100`);
  if (low > high)
    throw new Error(
      `imageGCLowThresholdPercent (${low}) must be less than imageGCHighThresholdPercent (${high})`,
    );
}
