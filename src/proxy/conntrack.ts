/**
 * Deletes stale UDP conntrack entries (`conntrack`, from the Debian package `conntrack`), as
 * kube-proxy does after a change: a UDP "flow" keeps going where its first packet went until it
 * has been idle for the conntrack timeout, so a client that keeps its source port would keep
 * sending to a removed endpoint, or keep being rejected by a ClusterIP that has endpoints now.
 *
 * One process per change, however many entries it makes stale: the deletions are lines of one
 * `conntrack -R <file>` (`--load-file`, conntrack-tools ≥ 1.4.6), one `-D` with its filters per
 * line; a line that matches nothing is no error. The file is a private temporary one, removed
 * after the run: `-R -` opens `/dev/stdin`, which fails on the socket Node gives a child as
 * stdin. Without the program, one warning and nothing deleted.
 *
 * @module
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

let available: boolean | undefined;
let warned = false;

/** `conntrack` arguments deleting the UDP flows to `frontend` (`ip:port`), or only those DNATed to `endpoint`. */
export function conntrackArgs(stale: { frontend: string; endpoint?: string }): string[] {
  const [ip, port] = stale.frontend.split(":");
  const args = ["-D", "-p", "udp", "--orig-dst", ip ?? "", "--orig-port-dst", port ?? ""];
  if (stale.endpoint !== undefined) {
    const [eip, eport] = stale.endpoint.split(":");
    args.push("--reply-src", eip ?? "", "--reply-port-src", eport ?? "");
  }
  return args;
}

/** The `conntrack -R` input deleting every entry of `stale`, one line each. */
export function conntrackBatch(stale: readonly { frontend: string; endpoint?: string }[]): string {
  return stale.map((s) => `${conntrackArgs(s).join(" ")}\n`).join("");
}

/** Runs `conntrack -R <a file holding batch>`; rejects with its stderr when it fails. */
export type ConntrackRunner = (batch: string) => Promise<void>;

export const runConntrack: ConntrackRunner = async (batch) => {
  const dir = await mkdtemp(join(tmpdir(), "loopkube-conntrack-"));
  try {
    const file = join(dir, "delete");
    await writeFile(file, batch, { mode: 0o600 });
    await conntrack(["-R", file]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};

const conntrack = (args: string[]) =>
  new Promise<void>((resolve, reject) => {
    const child = spawn("conntrack", args, { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      err += d;
    });
    child.once("error", reject);
    child.once("close", (code) =>
      code === 0 || /0 flow entries/.test(err)
        ? resolve()
        : reject(new Error(`conntrack ${args.join(" ")}: ${err.trim() || `exit ${code}`}`)),
    );
  });

export async function deleteUdpFlows(
  stale: readonly { frontend: string; endpoint?: string }[],
  onError: (e: unknown) => void,
  run: ConntrackRunner = runConntrack,
): Promise<void> {
  if (stale.length === 0) return;
  if (run === runConntrack) {
    available ??= spawnSync("conntrack", ["--version"]).status === 0;
    if (!available) {
      if (!warned) {
        onError(
          new Error(
            "conntrack is not installed: stale UDP conntrack entries are not deleted after a change (install the conntrack package)",
          ),
        );
      }
      warned = true;
      return;
    }
  }
  await run(conntrackBatch(stale)).catch(onError);
}
