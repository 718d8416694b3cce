/**
 * One nftables table of loopkube's kept in step with the state it is computed from: the
 * NetworkPolicy enforcer (kubelet) and the kernel service proxy (proxy) each own one table per
 * cluster and rewrite it whole, in one `nft -f` transaction, after each change.
 *
 * - Runs never overlap; changes during a run give one more run (a burst costs at most two).
 * - A script equal to the last one written is not run again.
 * - A failed run is reported and the next change tries again.
 * - `stop()` waits for the run in progress and deletes the table (when it was ever written, or
 *   always with `deleteAlways`).
 *
 * @module
 */
import { spawn } from "node:child_process";

/** Runs an nft script in one transaction (`nft -f -`); rejects with nft's own message. */
export function runNft(script: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("nft", ["-f", "-"], { stdio: ["pipe", "ignore", "pipe"] });
    let err = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      err += d;
    });
    child.once("error", reject);
    child.once("close", (code) =>
      code === 0 ? resolve() : reject(new Error(err.trim() || `nft exited with ${code}`)),
    );
    child.stdin.end(script);
  });
}

export interface NftTableOptions {
  /** The table's name (family `ip`). */
  table: string;
  /**
   * The whole table's script from the current state, or undefined to write nothing this time.
   * `written` says whether the table was ever written.
   */
  script(written: boolean): string | undefined;
  onError(e: unknown): void;
  /** Delete the table on stop even when this process never wrote it. */
  deleteAlways?: boolean;
}

export interface NftTable {
  /** Something the script depends on changed. */
  changed(): void;
  /** Resolves once every change seen so far is in the kernel (or failed). */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

export function keepNftTable(o: NftTableOptions): NftTable {
  let applied = "";
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  const run = async () => {
    do {
      again = false;
      // Let the informers' handlers of one burst all run first.
      await new Promise((r) => setImmediate(r));
      if (stopped) return;
      const script = o.script(applied !== "");
      if (script === undefined || script === applied) continue;
      try {
        await runNft(script);
        applied = script;
      } catch (e) {
        o.onError(e);
      }
    } while (again && !stopped);
  };
  return {
    changed() {
      if (stopped) return;
      if (running !== undefined) {
        again = true;
        return;
      }
      running = run().finally(() => {
        running = undefined;
      });
    },
    async settled() {
      while (running !== undefined) await running;
    },
    async stop() {
      stopped = true;
      await running;
      if (applied === "" && !o.deleteAlways) return;
      await runNft(`table ip ${o.table}\ndelete table ip ${o.table}\n`).catch(o.onError);
    },
  };
}
