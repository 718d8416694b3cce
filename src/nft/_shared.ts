/**
 * One {@link NftRunner} per cluster, shared by every table of it (the NetworkPolicy enforcer's
 * and the kernel proxy's): taken by a key (the cluster's table prefix), counted, and closed when
 * the last user lets it go. `LOOPKUBE_NFT=fork` (read when a cluster's runner is made) gives
 * the fork-per-run runner instead, for comparison (bench/proxy) and as a way out.
 *
 * @module
 */
import { forkRunner, type NftRunner, nftSession } from "./_session.ts";

const shared = new Map<string, { runner: NftRunner; users: number }>();

export interface NftLease {
  runner: NftRunner;
  /** Lets the runner go; the last lease closes it. */
  release(): Promise<void>;
}

/** The runner of `key`, made at the first lease (`log` is the first user's). */
export function leaseNft(key: string, log: (message: string) => void): NftLease {
  let entry = shared.get(key);
  if (!entry) {
    const runner = process.env.LOOPKUBE_NFT === "fork" ? forkRunner() : nftSession({ log });
    entry = { runner, users: 0 };
    shared.set(key, entry);
  }
  const e = entry;
  e.users++;
  let released = false;
  return {
    runner: e.runner,
    async release() {
      if (released) return;
      released = true;
      if (--e.users > 0) return;
      if (shared.get(key) === e) shared.delete(key);
      await e.runner.close();
    },
  };
}
