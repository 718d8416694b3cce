/**
 * One nftables table of loopkube's kept in step with the state it is computed from: the
 * NetworkPolicy enforcer (kubelet) and the kernel service proxy (proxy) each own one table per
 * cluster and change it, in one nft transaction, after each burst of changes.
 *
 * - The transactions go to one long-lived `nft -i` per cluster (`session`, shared by its
 *   tables; _session.ts says how a transaction's outcome is read from it), not one process
 *   each: a change costs no fork. It is started at the first run, restarted after it died, and
 *   where it cannot work, runs fork `nft -f -` (said once through `onError`); `LOOPKUBE_NFT=fork`
 *   asks for that from the start (_shared.ts).
 *
 * - Runs never overlap; changes during a run give one more run (a burst costs at most two).
 *   `settled()` waits for the changes seen when it is called, not for later ones.
 * - `keepNftState`: each run takes the kernel from the state last written to the desired one
 *   with the script the owner computes from both (an incremental update, as kube-proxy's
 *   nftables mode does it); the first run, and the run after a failure, start from an unknown
 *   kernel (`prev` undefined) and replace the whole table. A failed incremental run is reported
 *   and followed at once by that full one.
 * - `keepNftTable`: the whole table rewritten each time; a script equal to the last one written
 *   is not run again.
 * - A failed full run is reported and the next change tries again.
 * - `stop()` waits for the run in progress and deletes the table (when it was ever written, or
 *   always with `deleteAlways`).
 *
 * @module
 */
import { leaseNft, type NftLease } from "./_shared.ts";

export { forkRunner, type NftRunner, nftSession, oneLine, runNft } from "./_session.ts";
export { leaseNft, type NftLease } from "./_shared.ts";

interface Common {
  /** The table's name (family `ip`). */
  table: string;
  onError(e: unknown): void;
  /** Delete the table on stop even when this process never wrote it. */
  deleteAlways?: boolean;
  /** Tables with one session share one nft process (default: the table's name). */
  session?: string;
}

export interface NftStateOptions<M> extends Common {
  /** The desired state now, or undefined to write nothing this time. */
  desired(): M | undefined;
  /**
   * The script taking the kernel from `prev` to `next`; `prev` undefined means the kernel's
   * table is unknown (replace it whole). Undefined when there is nothing to do.
   */
  script(prev: M | undefined, next: M): string | undefined;
  /** Called after each successful run, with the state before it (undefined: a full run). */
  written?(prev: M | undefined, next: M): void | Promise<void>;
}

export interface NftTableOptions extends Common {
  /**
   * The whole table's script from the current state, or undefined to write nothing this time.
   * `written` says whether the table was ever written.
   */
  script(written: boolean): string | undefined;
}

export interface NftTable {
  /** Something the script depends on changed. */
  changed(): void;
  /** Resolves once every change seen so far is in the kernel (or failed). */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

export function keepNftState<M>(o: NftStateOptions<M>): NftTable {
  let applied: M | undefined;
  let ever = false;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  let lease: NftLease | undefined;
  const nft = (script: string) => {
    lease ??= leaseNft(o.session ?? o.table, (m) => o.onError(new Error(m)));
    return lease.runner.run(script);
  };
  /** Changes seen (`changed()` calls), and how many of them the last finished run covered. */
  let seen = 0;
  let covered = 0;
  /** Settles when the current run ends one pass (or the run ends). */
  let wake = () => {};
  let turn = new Promise<void>((r) => {
    wake = r;
  });
  const nextTurn = () => {
    wake();
    turn = new Promise<void>((r) => {
      wake = r;
    });
  };
  const finished = (gen: number) => {
    covered = Math.max(covered, gen);
    nextTurn();
  };
  const run = async () => {
    do {
      again = false;
      // Let the informers' handlers of one burst all run first.
      await new Promise((r) => setImmediate(r));
      if (stopped) return;
      const gen = seen;
      let retry = false;
      try {
        const next = o.desired();
        if (next === undefined) continue;
        const prev = applied;
        const script = o.script(prev, next);
        if (script === undefined) continue;
        try {
          await nft(script);
          applied = next;
          ever = true;
          await o.written?.(prev, next);
        } catch (e) {
          o.onError(e);
          applied = undefined;
          retry = prev !== undefined && o.script(undefined, next) !== script;
          if (retry) again = true;
        }
      } finally {
        if (!retry) finished(gen);
      }
    } while (again && !stopped);
  };
  return {
    changed() {
      if (stopped) return;
      seen++;
      if (running !== undefined) {
        again = true;
        return;
      }
      running = run().finally(() => {
        running = undefined;
        nextTurn();
      });
    },
    async settled() {
      // The changes seen until now, not later ones: a steady stream of changes (a burst of pods)
      // does not hold back whoever waits.
      const want = seen;
      while (covered < want && running !== undefined) await turn;
    },
    async stop() {
      stopped = true;
      await running;
      if (ever || o.deleteAlways) {
        await nft(`table ip ${o.table}\ndelete table ip ${o.table}\n`).catch(o.onError);
      }
      await lease?.release();
    },
  };
}

export function keepNftTable(o: NftTableOptions): NftTable {
  let written = false;
  return keepNftState<string>({
    ...o,
    desired: () => o.script(written),
    script: (prev, next) => (prev === next ? undefined : next),
    written: () => {
      written = true;
    },
  });
}
