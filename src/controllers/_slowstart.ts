/**
 * kube's slowStartBatch: run `count` calls in batches of 1, 2, 4, … so that a set whose creates
 * all fail (quota, admission) makes one failing call, not hundreds. Stops after the first batch
 * with an error and reports how many calls succeeded and the first error. Each call gets its
 * index (0 to `count` − 1), so that the calls may differ (one per node).
 *
 * @module
 */

export async function slowStartBatch(
  count: number,
  call: (index: number) => Promise<void>,
  options: { initialBatchSize?: number } = {},
): Promise<{ successes: number; error?: unknown }> {
  let remaining = count;
  let successes = 0;
  let batch = Math.min(remaining, options.initialBatchSize ?? 1);
  let next = 0;
  while (batch > 0) {
    const results = await Promise.allSettled(Array.from({ length: batch }, () => call(next++)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    successes += results.filter((r) => r.status === "fulfilled").length;
    if (failed) return { successes, error: failed.reason };
    remaining -= batch;
    batch = Math.min(2 * batch, remaining);
  }
  return { successes };
}
