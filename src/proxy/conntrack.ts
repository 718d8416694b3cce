/**
 * Deletes stale UDP conntrack entries (`conntrack -D`, from the Debian package `conntrack`), as
 * kube-proxy does after a change: a UDP "flow" keeps going where its first packet went until it
 * has been idle for the conntrack timeout, so a client that keeps its source port would keep
 * sending to a removed endpoint, or keep being rejected by a ClusterIP that has endpoints now.
 *
 * One process per entry to delete (kube-proxy forked `conntrack` the same way before it used
 * netlink); `conntrack` exits 1 when nothing matched, which is no error. Without the program,
 * one warning and nothing deleted.
 *
 * @module
 */
import { spawn, spawnSync } from "node:child_process";

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
): Promise<void> {
  if (stale.length === 0) return;
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
  for (const s of stale) await conntrack(conntrackArgs(s)).catch(onError);
}
