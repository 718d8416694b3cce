/**
 * Reads the listening TCP ports of a network namespace from its `/proc/<pid>/net/tcp` and
 * `tcp6` tables (any process inside it shows them), for the rootless host reach (hostreach.ts).
 *
 * A line's `local_address` is `ADDR:PORT`: ADDR the address as the kernel's 32-bit words, each
 * printed `%08X` in the machine's byte order (one word for IPv4, four for IPv6), PORT in plain
 * hex. `st` 0A is TCP_LISTEN. A port counts when it is reachable at the pod IP from outside the
 * pod: bound to the wildcard (0.0.0.0, ::, ::ffff:0.0.0.0) or to the pod IP itself (also as
 * ::ffff:<pod IP>); a server bound to 127.0.0.1 only is the pod's private localhost, as on a
 * real cluster, and does not count.
 *
 * @module
 */
import { endianness } from "node:os";

const LISTEN = "0A";

/** The bytes of a /proc/net address field (8 or 32 hex digits), in network order. */
export function procAddressBytes(hex: string, littleEndian = endianness() === "LE"): Buffer {
  if (!/^[0-9A-Fa-f]+$/.test(hex) || (hex.length !== 8 && hex.length !== 32)) {
    throw new Error(`not a /proc/net address: ${hex}`);
  }
  const out = Buffer.alloc(hex.length / 2);
  for (let i = 0; i < hex.length / 8; i++) {
    const word = Number.parseInt(hex.slice(i * 8, i * 8 + 8), 16);
    if (littleEndian) out.writeUInt32LE(word, i * 4);
    else out.writeUInt32BE(word, i * 4);
  }
  return out;
}

/** Whether a listener's address (network-order bytes) is reachable at `podIP`. */
function reachableAt(addr: Buffer, podIP: Buffer): boolean {
  const v4 =
    addr.length === 4
      ? addr
      : addr.subarray(0, 10).every((b) => b === 0) && addr[10] === 0xff && addr[11] === 0xff
        ? addr.subarray(12)
        : undefined;
  if (v4) return v4.every((b) => b === 0) || v4.equals(podIP);
  return addr.every((b) => b === 0);
}

/**
 * The ports listening at `podIP` (or on every address) in a `/proc/net/tcp` or `tcp6` table,
 * ascending, each once. Lines that do not parse are skipped.
 */
export function listeningPorts(
  table: string,
  podIP: string,
  o: { littleEndian?: boolean } = {},
): number[] {
  const ip = Buffer.from(podIP.split(".").map(Number));
  const ports = new Set<number>();
  for (const line of table.split("\n")) {
    const f = line.trim().split(/\s+/);
    // sl local_address rem_address st …
    if (f.length < 4 || f[3] !== LISTEN) continue;
    const [addrHex, portHex] = (f[1] ?? "").split(":");
    if (!addrHex || !portHex) continue;
    let addr: Buffer;
    try {
      addr = procAddressBytes(addrHex, o.littleEndian);
    } catch {
      continue;
    }
    const port = Number.parseInt(portHex, 16);
    if (port > 0 && port < 65536 && reachableAt(addr, ip)) ports.add(port);
  }
  return [...ports].sort((a, b) => a - b);
}
