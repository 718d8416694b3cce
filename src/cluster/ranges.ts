/**
 * Which address ranges each running cluster on this machine holds: a lease registry, so that
 * two clusters never share a pod range, a service range, a load balancer range or a node IP.
 *
 * The registry is a directory under the user's runtime directory (`$XDG_RUNTIME_DIR/loopkube/
 * ranges`, else `/tmp/loopkube-<uid>/ranges`) holding one file per running cluster: its pid
 * and the process's start time (from `/proc/<pid>/stat`, so a reused pid is not taken for the
 * holder), its name, data dir and ranges.
 *
 * Contract:
 * - A lease is taken by writing its file under a private name and publishing it with `link`
 *   (atomic, never overwrites), then reading the registry again: if another live lease overlaps
 *   it, whoever sees the overlap withdraws and tries again after a random pause. Of two
 *   processes (or two `startCluster` calls in one process) taking leases at the same moment, at
 *   least one sees the other's file, so two overlapping leases are never both kept.
 * - A lease whose process is gone (a crash, `kill -9`) is ignored and its file removed by the
 *   next reader: a crash leaks nothing.
 * - Ranges are chosen, in order: those given explicitly (refused with one sentence naming the
 *   other cluster when they overlap a live lease), those recorded in the data dir by its last
 *   run (so pod IPs stay stable; refused likewise when now held by another), else the first
 *   free slot of the address plan's table (slot 0, the documented defaults, for a lone cluster).
 * - `release()` removes the file only while it is still this lease's.
 * - A cluster with a data dir of its own also leaves a reservation (`reserved/<hash>.json`: the
 *   data dir and its ranges) that outlives it: while that data dir exists and records those
 *   ranges, a new cluster's automatic choice passes over them, so a stopped or crashed cluster
 *   started again on its data dir finds its ranges free (as kind and minikube keep a stopped
 *   cluster's network). Only when every other slot is taken is a reserved one given out. Deleting
 *   the data dir (`loopkube delete`) ends the reservation.
 *
 * @module
 */
import { createHash, randomBytes } from "node:crypto";
import {
  closeSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import { type AddressRanges, RANGE_SLOTS, rangeOverlaps, rangeSlot } from "../api/addressplan.ts";
import { ClusterError } from "./errors.ts";

/** What the registry knows of a cluster holding ranges. */
export interface LeaseHolder {
  pid: number;
  /** The process's start time (clock ticks since boot), when /proc tells it. */
  startTime?: string;
  name: string;
  dataDir: string;
  ranges: AddressRanges;
}

export interface LeaseRequest {
  name: string;
  dataDir: string;
  /** A data dir removed on stop: it has no recorded ranges and cannot be shared. */
  ephemeral?: boolean;
  /** Ranges the user gave (options, flags): used as they are, or refused. */
  explicit?: Partial<Pick<AddressRanges, "podCidr" | "serviceCidr">>;
  /** The ranges the data dir's last run held. */
  recorded?: AddressRanges | undefined;
}

export interface RangeLease {
  ranges: AddressRanges;
  /** The slot of the plan's table, when the ranges came from there. */
  slot: number | undefined;
  /** Removes the lease (only while its file is still this lease's); idempotent. */
  release(): void;
  /**
   * Keeps the ranges for the data dir beyond this lease (a reservation), once the data dir
   * exists: a first start makes its data dir after taking its ranges, and a kill -9 must not
   * leave them to the next cluster that starts. No-op for ephemeral clusters.
   */
  reserve(): void;
}

export interface RegistryOptions {
  /** Default: {@link registryDir}. */
  dir?: string;
  pid?: number;
  startTime?: string | undefined;
  /** Whether a holder's process still runs (default: signal 0 and its start time). */
  isAlive?: (holder: Pick<LeaseHolder, "pid" | "startTime">) => boolean;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const FIELD_NAMES: Record<keyof AddressRanges, string> = {
  podCidr: "pod CIDR",
  serviceCidr: "service CIDR",
  loadBalancerCidr: "load balancer CIDR",
  nodeIP: "node IP",
};
const FLAGS: Partial<Record<keyof AddressRanges, string>> = {
  podCidr: "--pod-cidr",
  serviceCidr: "--service-cidr",
};
const MAX_ATTEMPTS = 40;

/**
 * `$XDG_RUNTIME_DIR/loopkube`, or `/tmp/loopkube-<uid>` where there is none. Not `$TMPDIR`: it
 * differs from process to process (test runners set it per test), and a registry split over two
 * directories would let two clusters take the same ranges. Other systems: the temp dir.
 */
export function runtimeDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_RUNTIME_DIR?.trim();
  if (xdg && isAbsolute(xdg) && isDirectory(xdg)) return join(xdg, "loopkube");
  const temp = process.platform === "linux" ? "/tmp" : tmpdir();
  return join(temp, `loopkube-${process.getuid?.() ?? "user"}`);
}

/** Where the leases live. */
export function registryDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(runtimeDir(env), "ranges");
}

/** The live leases of the registry (dead holders' files are removed on the way). */
export function listLeases(options: RegistryOptions = {}): LeaseHolder[] {
  const r = resolve(options);
  return readLive(r).map((l) => l.holder);
}

/** Takes ranges for a cluster; see the module contract. */
export async function leaseRanges(
  request: LeaseRequest,
  options: RegistryOptions = {},
): Promise<RangeLease> {
  const r = resolve(options);
  prepareDir(r.dir);
  const owns = !request.ephemeral && request.dataDir !== "";
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const live = readLive(r);
    const reserved = readReservations(r).filter((x) => !owns || x.dataDir !== request.dataDir);
    const { ranges, slot } = choose(request, live, reserved);
    const holder: LeaseHolder = {
      pid: r.pid,
      ...(r.startTime !== undefined ? { startTime: r.startTime } : {}),
      name: request.name,
      dataDir: request.dataDir,
      ranges,
    };
    const file = publish(r, holder);
    const rival = readLive(r).find(
      (l) => l.file !== file && (clash(request, l.holder) || overlaps(ranges, l.holder.ranges)),
    );
    if (rival === undefined) {
      const keep = () => {
        if (owns && isDirectory(request.dataDir)) reserve(r, request.dataDir, ranges);
      };
      keep();
      return lease(file, holder, ranges, slot, keep);
    }
    removeIfOurs(file, holder);
    await r.sleep(1 + Math.floor(r.random() * 10 * (attempt + 1)));
  }
  throw new ClusterError(
    "could not take address ranges: other clusters kept starting at the same moment; try again",
  );
}

/** The ranges a data dir's last run held, if it recorded them. */
export function readRecordedRanges(dataDir: string): AddressRanges | undefined {
  try {
    const r = JSON.parse(readFileSync(recordPath(dataDir), "utf8")) as Partial<AddressRanges>;
    if (
      typeof r.podCidr === "string" &&
      typeof r.serviceCidr === "string" &&
      typeof r.loadBalancerCidr === "string" &&
      typeof r.nodeIP === "string"
    ) {
      return {
        podCidr: r.podCidr,
        serviceCidr: r.serviceCidr,
        loadBalancerCidr: r.loadBalancerCidr,
        nodeIP: r.nodeIP,
      };
    }
  } catch {
    // None recorded (a new data dir), or unreadable: the ranges are chosen afresh.
  }
  return undefined;
}

/** Records a cluster's ranges in its data dir, for the next run on it (write, then rename). */
export function recordRanges(dataDir: string, ranges: AddressRanges): void {
  const path = recordPath(dataDir);
  const tmp = `${path}.${process.pid}.tmp`;
  const { podCidr, serviceCidr, loadBalancerCidr, nodeIP } = ranges;
  const record: AddressRanges = { podCidr, serviceCidr, loadBalancerCidr, nodeIP };
  writeFileSync(tmp, `${JSON.stringify(record, null, 2)}\n`);
  renameSync(tmp, path);
}

/** Reads a process's start time from `/proc/<pid>/stat` (field 22), if it can. */
export function processStartTime(pid: number | "self"): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: count from its last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[19];
  } catch {
    return undefined;
  }
}

/** One sentence naming a cluster of the registry, for messages. */
export function describeHolder(h: Pick<LeaseHolder, "name" | "pid" | "dataDir">): string {
  return `cluster "${h.name}" (pid ${h.pid}, data dir ${h.dataDir})`;
}

// ---- internals -------------------------------------------------------------------------------

interface Resolved {
  dir: string;
  pid: number;
  startTime: string | undefined;
  isAlive: (holder: Pick<LeaseHolder, "pid" | "startTime">) => boolean;
  random: () => number;
  sleep: (ms: number) => Promise<void>;
}

interface LiveLease {
  file: string;
  holder: LeaseHolder;
}

let ownStartTime: string | undefined | null = null;

function resolve(options: RegistryOptions): Resolved {
  if (ownStartTime === null) ownStartTime = processStartTime("self");
  return {
    dir: options.dir ?? registryDir(),
    pid: options.pid ?? process.pid,
    startTime: "startTime" in options ? options.startTime : ownStartTime,
    isAlive: options.isAlive ?? isHolderAlive,
    random: options.random ?? Math.random,
    sleep: options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
  };
}

function isHolderAlive(holder: Pick<LeaseHolder, "pid" | "startTime">): boolean {
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  if (holder.startTime === undefined) return true;
  const now = processStartTime(holder.pid);
  return now === undefined || now === holder.startTime;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function prepareDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const uid = process.getuid?.();
  const owner = statSync(dir).uid;
  if (uid !== undefined && owner !== uid) {
    throw new ClusterError(
      `the address registry ${dir} belongs to another user (uid ${owner}); set XDG_RUNTIME_DIR to a directory of your own`,
    );
  }
}

function recordPath(dataDir: string): string {
  return join(dataDir, "addresses.json");
}

function readLive(r: Resolved): LiveLease[] {
  let names: string[];
  try {
    names = readdirSync(r.dir);
  } catch {
    return [];
  }
  const out: LiveLease[] = [];
  for (const name of names) {
    const file = join(r.dir, name);
    if (name.startsWith(".")) {
      // A lease being written: `.<pid>-<random>`; left behind only by a process that died.
      const pid = Number(name.slice(1).split("-")[0]);
      if (Number.isInteger(pid) && pid > 0 && !r.isAlive({ pid })) unlinkQuietly(file);
      continue;
    }
    if (!name.endsWith(".json")) continue;
    const holder = parseHolder(file);
    if (holder === undefined) continue;
    if (r.isAlive(holder)) out.push({ file, holder });
    else unlinkQuietly(file);
  }
  return out;
}

function parseHolder(file: string): LeaseHolder | undefined {
  try {
    const h = JSON.parse(readFileSync(file, "utf8")) as LeaseHolder;
    if (!Number.isInteger(h.pid) || typeof h.ranges !== "object" || h.ranges === null) {
      return undefined;
    }
    return h;
  } catch {
    return undefined;
  }
}

function choose(
  request: LeaseRequest,
  live: LiveLease[],
  reserved: Reservation[],
): { ranges: AddressRanges; slot: number | undefined } {
  for (const l of live) {
    if (clash(request, l.holder)) {
      throw new ClusterError(
        `data dir ${request.dataDir} is in use by a running cluster (pid ${l.holder.pid}); stop it with \`loopkube down\``,
      );
    }
  }
  const explicit = request.explicit ?? {};
  for (const l of live) {
    const hit = rangeOverlaps(explicit, l.holder.ranges)[0];
    if (hit) {
      const [mine, theirs] = hit;
      const given: Partial<AddressRanges> = explicit;
      throw new ClusterError(
        `the ${FIELD_NAMES[mine]} ${given[mine]} overlaps the ${FIELD_NAMES[theirs]} ${l.holder.ranges[theirs]} of ${describeHolder(l.holder)}, which is running; choose another with ${FLAGS[mine]} or leave it out to get a free one`,
      );
    }
  }
  if (request.recorded !== undefined && !request.ephemeral) {
    const ranges = { ...request.recorded, ...explicit };
    for (const l of live) {
      const hit = rangeOverlaps(ranges, l.holder.ranges)[0];
      if (hit) {
        const [mine] = hit;
        throw new ClusterError(
          `the ${FIELD_NAMES[mine]} ${ranges[mine]} this data dir used before is now held by ${describeHolder(l.holder)}; stop that cluster, or give this one other ranges with --pod-cidr and --service-cidr (its pods' IPs then change)`,
        );
      }
    }
    return { ranges, slot: undefined };
  }
  // First a slot nobody holds or keeps for a stopped cluster's data dir; then one only kept.
  for (const honourReservations of [true, false]) {
    for (let slot = 0; slot < RANGE_SLOTS; slot++) {
      const ranges = { ...rangeSlot(slot), ...explicit };
      // A slot whose other ranges meet the explicit ones would not make a valid plan.
      if (rangeOverlaps(rangeSlot(slot), explicit).some(([a, b]) => a !== b)) continue;
      if (live.some((l) => overlaps(ranges, l.holder.ranges))) continue;
      if (honourReservations && reserved.some((x) => overlaps(ranges, x.ranges))) continue;
      return { ranges, slot };
    }
  }
  throw new ClusterError(
    `all ${RANGE_SLOTS} address slots are held by running clusters (${live.length} of them); stop one, or give --pod-cidr and --service-cidr ranges of your own`,
  );
}

/** A stopped (or running) cluster's claim on the ranges its data dir records. */
interface Reservation {
  dataDir: string;
  ranges: AddressRanges;
}

function reservationDir(r: Resolved): string {
  return join(r.dir, "reserved");
}

function reservationFile(r: Resolved, dataDir: string): string {
  const id = createHash("sha256").update(dataDir).digest("hex").slice(0, 20);
  return join(reservationDir(r), `${id}.json`);
}

/** Writes (or replaces) the data dir's reservation: write, then rename. */
function reserve(r: Resolved, dataDir: string, ranges: AddressRanges): void {
  try {
    mkdirSync(reservationDir(r), { recursive: true, mode: 0o700 });
    const file = reservationFile(r, dataDir);
    const tmp = `${file}.${r.pid}-${randomBytes(4).toString("hex")}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ dataDir, ranges })}\n`, { mode: 0o600 });
    renameSync(tmp, file);
  } catch {
    // A reservation is a courtesy to the next start; the live lease is what keeps ranges apart.
  }
}

/**
 * The reservations still standing: each one's data dir exists and records the same ranges (or
 * none yet). The others (data dir deleted, or started since with other ranges) are removed.
 */
function readReservations(r: Resolved): Reservation[] {
  let names: string[];
  try {
    names = readdirSync(reservationDir(r));
  } catch {
    return [];
  }
  const out: Reservation[] = [];
  for (const name of names) {
    const file = join(reservationDir(r), name);
    if (!name.endsWith(".json")) {
      // A reservation being written, left behind only by a process that died mid-write.
      const pid = Number(name.split(".").at(-2)?.split("-")[0]);
      if (Number.isInteger(pid) && pid > 0 && !r.isAlive({ pid })) unlinkQuietly(file);
      continue;
    }
    let x: Reservation;
    try {
      x = JSON.parse(readFileSync(file, "utf8")) as Reservation;
    } catch {
      continue; // Unreadable: left alone, and not counted.
    }
    const exists = typeof x.dataDir === "string" && isDirectory(x.dataDir);
    const recorded = exists ? readRecordedRanges(x.dataDir) : undefined;
    if (exists && (recorded === undefined || sameRanges(recorded, x.ranges))) out.push(x);
    else unlinkQuietly(file);
  }
  return out;
}

function sameRanges(a: AddressRanges, b: AddressRanges): boolean {
  return (
    a.podCidr === b.podCidr &&
    a.serviceCidr === b.serviceCidr &&
    a.loadBalancerCidr === b.loadBalancerCidr &&
    a.nodeIP === b.nodeIP
  );
}

function clash(request: LeaseRequest, other: LeaseHolder): boolean {
  return !request.ephemeral && request.dataDir !== "" && other.dataDir === request.dataDir;
}

function overlaps(a: AddressRanges, b: AddressRanges): boolean {
  return rangeOverlaps(a, b).length > 0;
}

function publish(r: Resolved, holder: LeaseHolder): string {
  const id = `${r.pid}-${randomBytes(6).toString("hex")}`;
  const tmp = join(r.dir, `.${id}`);
  const file = join(r.dir, `${holder.name}-${id}.json`);
  const fd = openSync(tmp, "wx", 0o600);
  try {
    writeSync(fd, `${JSON.stringify(holder)}\n`);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, file);
  } finally {
    unlinkQuietly(tmp);
  }
  held.add(file);
  return file;
}

function lease(
  file: string,
  holder: LeaseHolder,
  ranges: AddressRanges,
  slot: number | undefined,
  keep: () => void,
): RangeLease {
  let released = false;
  return {
    ranges,
    slot,
    reserve: keep,
    release() {
      if (released) return;
      released = true;
      removeIfOurs(file, holder);
    },
  };
}

function removeIfOurs(file: string, holder: LeaseHolder): void {
  held.delete(file);
  const now = parseHolder(file);
  if (now?.pid === holder.pid && now.startTime === holder.startTime) unlinkQuietly(file);
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // Gone already (another reader cleaned it up).
  }
}

/** Lease files of this process not yet released: removed when the process exits. */
const held = new Set<string>();
process.once("exit", () => {
  for (const file of held) unlinkQuietly(file);
});
