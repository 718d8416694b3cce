/**
 * Which process holds a port, best effort and Linux only: the socket's inode from
 * `/proc/net/{tcp,tcp6,udp,udp6}` (a TCP socket must be listening; a wildcard address such as
 * 0.0.0.0 or :: holds every address), then the process whose `/proc/<pid>/fd` links to it.
 * Processes of other users are found only when this one may read their fds (root). Undefined
 * when nothing is found; never throws.
 *
 * @module
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

export interface PortHolder {
  pid: number;
  /** Its command line, shortened. */
  command: string;
}

export type Transport = "tcp" | "udp";

const TCP_LISTEN = "0A";

/**
 * The inodes of sockets in a `/proc/net/*` table bound to `host:port` (or to a wildcard
 * address on that port); for TCP only listening ones.
 */
export function socketInodes(
  table: string,
  transport: Transport,
  host: string,
  port: number,
): string[] {
  const want = hexAddresses(host);
  const out: string[] = [];
  for (const line of table.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    const [address, portHex] = (f[1] ?? "").split(":");
    const state = f[3];
    const inode = f[9];
    if (address === undefined || portHex === undefined || inode === undefined) continue;
    if (Number.parseInt(portHex, 16) !== port) continue;
    if (transport === "tcp" && state !== TCP_LISTEN) continue;
    if (!want.has(address) || inode === "0") continue;
    out.push(inode);
  }
  return out;
}

/** Best effort: the process holding `host:port` for this transport, if it can be found. */
export function findPortHolder(
  transport: Transport,
  host: string,
  port: number,
): PortHolder | undefined {
  try {
    const inodes = new Set<string>();
    for (const table of [transport, `${transport}6`]) {
      let text: string;
      try {
        text = readFileSync(`/proc/net/${table}`, "utf8");
      } catch {
        continue;
      }
      for (const inode of socketInodes(text, transport, host, port)) inodes.add(inode);
    }
    if (inodes.size === 0) return undefined;
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      let fds: string[];
      try {
        fds = readdirSync(`/proc/${entry}/fd`);
      } catch {
        continue;
      }
      for (const fd of fds) {
        let target: string;
        try {
          target = readlinkSync(`/proc/${entry}/fd/${fd}`);
        } catch {
          continue;
        }
        const m = /^socket:\[(\d+)\]$/.exec(target);
        if (m && inodes.has(m[1] ?? "")) {
          return { pid: Number(entry), command: commandOf(Number(entry)) };
        }
      }
    }
  } catch {
    // /proc is not there or not readable: nothing to say.
  }
  return undefined;
}

/** `pid 123 (node bin/loopkube.js up)`: how a message names a holder. */
export function describePortHolder(holder: PortHolder): string {
  return holder.command === "" ? `pid ${holder.pid}` : `pid ${holder.pid} (${holder.command})`;
}

function commandOf(pid: number): string {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
    const text = argv.join(" ");
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    return "";
  }
}

/**
 * `/proc/net` spellings of an IPv4 address and of the wildcards that also hold it: IPv4 as one
 * little-endian 32-bit word, IPv6 as four of them (so `::ffff:a.b.c.d` ends in the IPv4 word).
 */
function hexAddresses(host: string): Set<string> {
  const octets = host.split(".").map(Number);
  const v4 = octets
    .slice()
    .reverse()
    .map((o) => o.toString(16).padStart(2, "0"))
    .join("")
    .toUpperCase();
  return new Set([
    v4,
    "00000000",
    "00000000000000000000000000000000",
    `0000000000000000FFFF0000${v4}`,
  ]);
}
