/**
 * Several long-lived helpers of one kind behind the interface of one (podnet_fast.ts uses it for
 * the namespace configurer): a request goes to the member with the fewest requests in flight,
 * the first on a tie, so that one request at a time keeps to one process and a burst is worked
 * on by all of them at once (a pod's set-up waits for the kernel's namespace work, which takes
 * one core each). A member is started at its first request, as a helper is.
 *
 * Requests given to different members are not ordered with each other: the caller orders what
 * must be (podnet.ts keeps work on one pod IP in order).
 *
 * @module
 */
import type { LongLivedHelper } from "./podnet_longlived.ts";

export function helperPool<Req>(
  size: number,
  make: () => LongLivedHelper<Req>,
): LongLivedHelper<Req> {
  const members = Array.from({ length: Math.max(1, size) }, () => ({ helper: make(), busy: 0 }));
  return {
    run(req) {
      let m = members[0] as (typeof members)[number];
      for (const c of members) if (c.busy < m.busy) m = c;
      m.busy++;
      return m.helper.run(req).finally(() => {
        m.busy--;
      });
    },
    /** The first member's (the one that serves requests made one at a time). */
    pid: () => members[0]?.helper.pid(),
    broken: () => members.map((m) => m.helper.broken()).find((b) => b !== undefined),
    close: async () => {
      await Promise.all(members.map((m) => m.helper.close()));
    },
  };
}
