/**
 * One pod's life on the node: sandbox (IP), init containers in order, then every container with
 * its restart loop, probes and back-off; status written to the API server after each change;
 * graceful termination (preStop, SIGTERM to the process group, SIGKILL at the deadline) when the
 * pod is deleted or the agent stops.
 *
 * Invariants: at most one live process per container; `terminate()` is idempotent and resolves
 * after every container has exited; status writes are serialized and coalesced (the latest state
 * wins). Container failures never throw out of the worker.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import { readdir, rm } from "node:fs/promises";
import type { Socket } from "node:net";
import { join } from "node:path";
import type { Writable } from "node:stream";
import type {
  Container,
  ContainerState,
  ContainerStatus,
  LifecycleHandler,
  Pod,
} from "kubernetes-types/core/v1.js";
import { isStatusError } from "../api/errors.ts";
import { REFS, sub } from "../api/refs.ts";
import { asKube } from "../api/types.ts";
import type { ApiVerbs } from "../api/verbs.ts";
import type { EventRecorder } from "../client/index.ts";
import type { PreparedImage } from "../images/index.ts";
import { type BackoffPolicy, type BackoffState, FRESH_BACKOFF } from "./backoff.ts";
import { containerEnv, EnvError, type EnvSources } from "./env.ts";
import type { PullResult } from "./imagepull.ts";
import { nextInitStep } from "./initorder.ts";
import {
  type ContainerFacts,
  type ContainerRole,
  type LifecycleAction,
  type LifecycleEvent,
  type PodFacts,
  step,
} from "./lifecycle.ts";
import { type ContainerLog, type LogFileSystem, removeOldRestartLogs } from "./logfile.ts";
import { type ProbeKind, runCheck, startProbeWorker } from "./probe.ts";
import {
  type ContainerExit,
  type ContainerHandle,
  type Runtime,
  StartError,
} from "./runtimes/index.ts";
import { type ContainerView, notCreatedYet, podStatus } from "./status.ts";
import {
  activeDeadlineAt,
  DEADLINE_EXCEEDED,
  podGraceMs,
  sigkillAt,
  terminationTurns,
} from "./termination.ts";
import { materializeVolumes, VolumeError, type VolumeSources } from "./volumes.ts";

export const RUNTIME_ANNOTATION = "loopkube.dev/runtime";

export interface WorkerDeps {
  client: ApiVerbs;
  recorder: EventRecorder;
  /** How the pod's containers run (runtimes/). */
  runtime: Runtime;
  podIP: string;
  hostIP: string;
  /** The pod's directory (logs, volumes, sandbox), computed when needed. */
  podDirOf(pod: Pod): string;
  envSources(pod: Pod): Omit<EnvSources, "podIP" | "hostIP">;
  /** Where volumes come from (process runtime). */
  volumeSources(pod: Pod): VolumeSources;
  /** A command prefix that puts the container's process into the pod's sandbox, if any. */
  sandbox?(
    pod: Pod,
    container: Container,
    volumes: Map<string, string>,
    onSkip: (message: string) => void,
  ): string[] | undefined;
  /**
   * The sandbox is made inside the pods' user namespace (rootless pod networks): only for a pod
   * with its network namespace, and entered with the user namespace (`nsenter -U`).
   */
  rootlessSandbox?: boolean;
  /**
   * Builds the pod's own network namespace (sandbox/podnet.ts), resolving to the prefix that enters it;
   * absent when the pod shares the host's. A failure is a Warning event, and the pod then shares
   * the host's namespace.
   */
  network?(): Promise<string[]>;
  backoff: BackoffPolicy;
  /** How often ConfigMap/Secret/downward API volume files are rewritten; default 10 s. */
  volumeRefreshMs?: number;
  now(): Date;
  onError(e: unknown): void;
  /** Something an operator should hear of (a container's log cannot be written). */
  warn(message: string): void;
  /** Opens a container's log (logfile.ts, with the kubelet's rotation settings). */
  openLog(
    path: string,
    onError: (e: NodeJS.ErrnoException, what: "write" | "rotate" | "tidy") => void,
  ): Promise<ContainerLog>;
  /** The file system the logs are on (for the clean-up of old restarts' logs). */
  logFs?: LogFileSystem;
  /** Where a probe or hook of a container without `workingDir` runs (loopkube's cwd). */
  workingDir: string;
  /** The pod's network namespace path, once `network()` has built it. */
  netnsPath?: string;
  /** How the agent connects to the pod's IP where a plain connect cannot (rootless networks). */
  dialPod?: (ip: string, port: number) => Promise<Socket>;
  /**
   * The image step (imagepull.ts) before each start, for runtimes that run containers from
   * their images; absent for `process` and `simulated`, whose containers use no image.
   */
  pullImage?(
    pod: Pod,
    container: Container,
    emit: (type: "Normal" | "Warning", reason: string, message: string) => void,
  ): Promise<PullResult>;
  /**
   * The `auto` runtime's fallback, for an `oci` pod that named no runtime and whose containers
   * all name a command: `reason` says why its images cannot be had (a registry unreachable), or
   * undefined. Asked once before the pod starts; a reason runs the whole pod in `runtime`
   * (`process`), with a Warning `ImageUnavailable`.
   */
  fallback?: { reason(pod: Pod): Promise<string | undefined>; runtime: Runtime };
}

interface CState {
  spec: Container;
  init: boolean;
  restartCount: number;
  state: ContainerState;
  lastState: ContainerState;
  ready: boolean;
  started: boolean;
  containerID?: string;
  /** A container of this name ran before (here or before the agent restarted): the next start is a restart. */
  ran: boolean;
  handle?: ContainerHandle | undefined;
  backoff: BackoffState;
  stopProbes?: (() => void) | undefined;
  /** Killed because its spec changed: it starts again at once, whatever the restart policy. */
  changed?: boolean;
  /** An ephemeral container (`kubectl debug`): started once, never restarted, no probes. */
  ephemeral?: boolean;
  /** An ephemeral container's start has begun (it is started at most once). */
  launched?: boolean;
  /** The image the container runs from (image runtimes), and its `repository@digest`. */
  image?: PreparedImage;
  imageID?: string;
  /** How soon the image step asked to be tried again (a failed pull: soon, then its back-off). */
  retryInMs?: number | undefined;
}

const stamp = (d: Date) => `${d.toISOString().slice(0, 19)}Z`;
/** A restartable init container (`restartPolicy: Always`): it runs beside the app containers. */
const isSidecar = (c: CState) => c.init && c.spec.restartPolicy === "Always";
/** How long a terminated pod stays before its final delete (see `finishDeletion`). */
export const TERMINATED_SETTLE_MS = 300;
const MAX_TIMER_MS = 2 ** 31 - 1;
const digest = (text: string) => createHash("sha1").update(text).digest("base64");

export class PodWorker {
  /** The uid of the pod this worker runs. */
  readonly uid: string;
  /** Set once deletion has begun. */
  deleting = false;
  private pod: Pod;
  private readonly cs = new Map<string, CState>();
  private readonly initOrder: CState[] = [];
  private readonly mainOrder: CState[] = [];
  private readonly ephemeralOrder: CState[] = [];
  private stopping = false;
  /** The pod failed for good (its active deadline), with the kubelet's reason and message. */
  private failed: { reason: string; message: string } | undefined;
  private wake: (() => void)[] = [];
  private sandboxReady = false;
  /** The prefix entering the pod's network namespace, when it has one. */
  private netns: string[] = [];
  private volumes = new Map<string, string>();
  private containersDone = false;
  private initDone = false;
  private startTime: string | undefined;
  private writing: Promise<void> = Promise.resolve();
  private dirty = false;
  /** Digest of the last status written (the status itself is a kilobyte per pod). */
  private lastWritten = "";
  /** Set when the whole agent stops: no more status writes or events. */
  private silent = false;
  private running: Promise<void> = Promise.resolve();
  private terminating: Promise<void> | undefined;
  /** When every container had stopped (ms). */
  private terminatedAt = 0;
  /**
   * The latest moment (ms) any container of the pod may still run once it is being stopped:
   * set by `terminate`, and only ever moved earlier (a later, shorter grace period wins).
   */
  private killBy = Number.POSITIVE_INFINITY;
  /** Waiters told when `killBy` moves earlier. */
  private killByMoved: (() => void)[] = [];
  private readonly deps: WorkerDeps;
  /** How the pod runs: the agent's choice, or `process` once the `auto` fallback took it. */
  private runtime: Runtime;

  constructor(pod: Pod, deps: WorkerDeps) {
    this.pod = pod;
    this.uid = pod.metadata?.uid ?? "";
    this.deps = deps;
    this.runtime = deps.runtime;
    const prior = new Map(
      [
        ...(pod.status?.initContainerStatuses ?? []),
        ...(pod.status?.containerStatuses ?? []),
        ...(pod.status?.ephemeralContainerStatuses ?? []),
      ].map((s) => [s.name, s]),
    );
    this.prior = prior;
    const add = (c: Container, init: boolean) => {
      const before = prior.get(c.name);
      const s: CState = {
        spec: c,
        init,
        restartCount: before?.restartCount ?? 0,
        state: notCreatedYet(pod),
        lastState: before ? previousState(before, stamp(deps.now())) : {},
        ready: false,
        started: false,
        backoff: FRESH_BACKOFF,
        ran: Boolean(before?.containerID),
        ...(before?.containerID ? { containerID: before.containerID } : {}),
      };
      this.cs.set(c.name, s);
      (init ? this.initOrder : this.mainOrder).push(s);
    };
    for (const c of pod.spec?.initContainers ?? []) add(c, true);
    for (const c of pod.spec?.containers ?? []) add(c, false);
    this.addEphemeral(pod);
    this.startTime = pod.status?.startTime;
  }

  /** Statuses the pod had when this worker began (the agent restarted meanwhile). */
  private readonly prior: Map<string, ContainerStatus>;

  /**
   * Takes the pod's ephemeral containers not known yet. One that ran before the agent restarted
   * is not run again (ephemeral containers never restart): it keeps its last state.
   */
  private addEphemeral(pod: Pod): CState[] {
    const added: CState[] = [];
    for (const ec of pod.spec?.ephemeralContainers ?? []) {
      if (this.cs.has(ec.name)) continue;
      const before = this.prior.get(ec.name);
      const s: CState = {
        spec: ec as Container,
        init: false,
        ephemeral: true,
        restartCount: 0,
        state: before?.containerID
          ? previousState(before, stamp(this.deps.now()))
          : { waiting: { reason: "ContainerCreating" } },
        lastState: {},
        ready: false,
        started: false,
        backoff: FRESH_BACKOFF,
        ran: Boolean(before?.containerID),
        launched: Boolean(before?.containerID),
        ...(before?.containerID ? { containerID: before.containerID } : {}),
      };
      this.cs.set(ec.name, s);
      this.ephemeralOrder.push(s);
      added.push(s);
    }
    return added;
  }

  /**
   * Starts the ephemeral containers not started yet, once the sandbox is there (kube starts them
   * whether or not the pod's init containers are done). Each runs once; a configuration error
   * (a missing command, say) is retried as the kubelet's sync loop does.
   */
  private startEphemerals(): void {
    if (!this.sandboxReady || this.stopping) return;
    for (const c of this.ephemeralOrder) {
      if (c.launched || c.ran) continue;
      c.launched = true;
      void (async () => {
        while (!this.stopping && (await this.startOnce(c)) === undefined) {
          await this.sleep(this.retryDelay(c));
        }
      })().catch(this.deps.onError);
    }
  }

  private get podDir(): string {
    return this.deps.podDirOf(this.pod);
  }

  get name(): string {
    return `${this.pod.metadata?.namespace}/${this.pod.metadata?.name}`;
  }

  /** Pids of the live container processes (for tests and metrics). */
  pids(): number[] {
    return [...this.cs.values()].flatMap((c) => (c.handle?.pid ? [c.handle.pid] : []));
  }

  /** The app containers now running, with their first process (none when simulated): for metrics. */
  runningContainers(): Array<{ name: string; pid: number | undefined }> {
    return this.mainOrder
      .filter((c) => c.state.running && c.handle)
      .map((c) => ({ name: c.spec.name, pid: c.handle?.pid }));
  }

  /** The pid of a running container's process (its sandbox when there is one), for exec. */
  containerPid(name: string): number | undefined {
    const c = this.cs.get(name);
    return c?.state.running ? c.handle?.pid : undefined;
  }

  /** How a command enters a running container of its own runtime (oci: `crun exec`), if so. */
  containerEnter(name: string): ((tty: boolean) => string[]) | undefined {
    const c = this.cs.get(name);
    if (!c?.state.running) return undefined;
    const pid = c.handle?.pid;
    const userns = this.deps.rootlessSandbox && pid ? () => enterPid(pid, true) : undefined;
    return c.handle?.enter ?? this.netnsOnly() ?? userns;
  }

  /**
   * A running container's stdin (its spec says `stdin: true`), for attach; `once` is its
   * `stdinOnce`: the first attach that ends closes it, as the container runtime does.
   */
  containerStdin(name: string): { stream: Writable; once: boolean } | undefined {
    const c = this.cs.get(name);
    const stream = c?.state.running ? c.handle?.stdin : undefined;
    return c && stream ? { stream, once: c.spec.stdinOnce === true } : undefined;
  }

  start(): void {
    this.running = this.run().catch(this.deps.onError);
  }

  /**
   * Waits out the pod's `activeDeadlineSeconds` (termination.ts), then fails the pod with
   * DeadlineExceeded and stops its containers, as the kubelet's active deadline handler does.
   */
  private async enforceActiveDeadline(): Promise<void> {
    const at = activeDeadlineAt(this.pod, this.startTime);
    if (at === undefined) return;
    while (!this.stopping && this.clock() < at)
      await this.sleep(Math.min(at - this.clock(), MAX_TIMER_MS));
    if (this.stopping) return;
    this.failed = DEADLINE_EXCEEDED;
    this.event("Normal", DEADLINE_EXCEEDED.reason, DEADLINE_EXCEEDED.message);
    await this.terminate();
  }

  /**
   * Takes the pod's latest object. A container whose image changed (the one container field a
   * pod update may change) is killed and started again with the new spec, as the kubelet does
   * when a container's spec hash changes ("Container app definition changed, will be restarted").
   */
  update(pod: Pod): void {
    this.pod = pod;
    if (this.stopping) return;
    if (this.addEphemeral(pod).length > 0) {
      this.pushStatus();
      this.startEphemerals();
    }
    const specs = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
    for (const spec of specs) {
      const c = this.cs.get(spec.name);
      if (!c || c.spec.image === spec.image) continue;
      c.spec = spec;
      for (const a of this.step(c, { type: "specChanged" })) this.act(c, a);
    }
  }

  /**
   * Stops every container (preStop, SIGTERM, SIGKILL at the grace deadline). `silent`: the agent
   * itself is going away with the whole cluster, as a machine powers off: the containers stop
   * but no status or event is written about it (at 150,000 pods those writes were most of the
   * stop); the pods run again when the agent comes back. `deleted`: the pod as its deletion
   * left it, whose `deletionGracePeriodSeconds` (`kubectl delete --grace-period`) is the grace
   * period; a later deletion's shorter one cuts a running termination short.
   */
  terminate(options: { maxGraceMs?: number; silent?: boolean; deleted?: Pod } = {}): Promise<void> {
    if (options.silent) this.silent = true;
    let cap = options.maxGraceMs ?? Number.POSITIVE_INFINITY;
    if (options.deleted) {
      this.pod = options.deleted;
      const seconds = options.deleted.metadata?.deletionGracePeriodSeconds;
      if (typeof seconds === "number") cap = Math.min(cap, seconds * 1000);
    }
    if (this.terminating !== undefined) {
      // Already stopping (deleted, say, with its own grace period): a shorter grace period
      // asked for now (the agent shutting down) cuts it short; a longer one never extends it,
      // as the kubelet's pod workers only ever lower a terminating pod's grace period.
      this.moveKillBy(this.clock() + cap);
    } else {
      this.stopping = true;
      for (const w of this.wake.splice(0)) w();
      const deadline = this.clock() + podGraceMs(this.pod, cap);
      this.moveKillBy(deadline);
      this.terminating = (async () => {
        await this.stopContainers([...this.cs.values()], deadline);
        await this.running;
        this.terminatedAt = this.clock();
        this.pushStatus();
        await this.writing;
      })();
    }
    return this.terminating;
  }

  /**
   * After termination for deletion, in the kubelet's order (syncTerminatingPod, then
   * syncTerminatedPod and the status manager's last sync): the terminal status is written first
   * (by `terminate`); then the pod's resources go (`teardown`: its directory with volumes and
   * logs; the caller releases the IP there); then the pod is read back from the API server and
   * deleted with grace 0 and a UID precondition only when it is still this pod, marked for
   * deletion, with a terminal phase stored (kube's `canBeDeleted`). Resolves `false` when the
   * stored phase is not terminal yet (the status write failed): the caller tries again.
   *
   * The pace is kube's too: its syncTerminatedPod waits for the volume manager (a reconciler
   * every 100 ms, WaitForUnmount checking every 300 ms), so on a real node a terminated pod
   * stays readable, with its terminal status, for some 300 ms before it goes. Clients rely on
   * that: `kubectl delete --wait` (1.32 as 1.34) reads the pod, then lists and watches it by
   * name for its DELETED event, and waits forever if by then the pod is gone and a StatefulSet
   * made its successor (kubernetes/kubernetes#135562). Our teardown takes milliseconds, so the
   * final delete waits out `TERMINATED_SETTLE_MS` from the end of the containers.
   */
  async finishDeletion(teardown: () => void = () => {}): Promise<boolean> {
    const meta = this.pod.metadata ?? {};
    try {
      await rm(this.podDir, { recursive: true, force: true });
    } catch (e) {
      this.deps.warn(
        `pod ${this.name}: removing its directory failed: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    teardown();
    const settle = this.terminatedAt + TERMINATED_SETTLE_MS - this.clock();
    if (settle > 0) await new Promise((r) => setTimeout(r, settle));
    let stored: Pod;
    try {
      stored = (await this.deps.client.get(
        REFS.pods,
        meta.namespace ?? "",
        meta.name ?? "",
      )) as Pod;
    } catch (e) {
      if (isStatusError(e, "NotFound")) return true;
      throw e;
    }
    if (stored.metadata?.uid !== this.uid || !stored.metadata?.deletionTimestamp) return true;
    const phase = stored.status?.phase;
    if (phase !== "Succeeded" && phase !== "Failed") {
      this.lastWritten = "";
      this.pushStatus();
      await this.writing;
      return false;
    }
    try {
      await this.deps.client.delete(REFS.pods, meta.namespace ?? "", meta.name ?? "", {
        gracePeriodSeconds: 0,
        preconditions: { uid: this.uid },
      });
    } catch (e) {
      if (!isStatusError(e, "NotFound") && !isStatusError(e, "Conflict")) throw e;
    }
    return true;
  }

  /** Moves `killBy` to `at` if that is earlier, waking every wait on it. */
  private moveKillBy(at: number): void {
    if (!(at < this.killBy)) return;
    this.killBy = at;
    for (const w of this.killByMoved.splice(0)) w();
  }

  /**
   * Resolves `true` at `deadline` or at `killBy`, whichever comes first (following `killBy` as
   * it moves), or `false` as soon as `done` settles.
   */
  private async untilDeadline(deadline: number, done: Promise<unknown>): Promise<boolean> {
    let settled = false;
    const finished = done.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    while (!settled) {
      const at = Math.min(deadline, this.killBy);
      if (at <= this.clock()) return true;
      let timer: NodeJS.Timeout | undefined;
      let moved: (() => void) | undefined;
      await Promise.race([
        finished,
        new Promise<void>((resolve) => {
          // setTimeout fires at once beyond 2^31-1 ms: a very long grace is waited in steps.
          timer = setTimeout(resolve, Math.min(at - this.clock(), MAX_TIMER_MS));
          timer.unref?.();
        }),
        new Promise<void>((resolve) => {
          moved = resolve;
          this.killByMoved.push(resolve);
        }),
      ]);
      clearTimeout(timer);
      const i = moved ? this.killByMoved.indexOf(moved) : -1;
      if (i >= 0) this.killByMoved.splice(i, 1);
    }
    return false;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopping) return resolve();
      const done = () => {
        clearTimeout(t);
        const i = this.wake.indexOf(done);
        if (i >= 0) this.wake.splice(i, 1);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.wake.push(done);
    });
  }

  private event(type: "Normal" | "Warning", reason: string, message: string, c?: CState): void {
    if (this.silent) return;
    const obj = asKube(this.pod);
    const withKind = { ...obj, kind: "Pod", apiVersion: "v1" };
    // A container's events point at it, as the kubelet's do: spec.containers{name}.
    const list = c?.ephemeral ? "ephemeralContainers" : c?.init ? "initContainers" : "containers";
    const fieldPath = c ? `spec.${list}{${c.spec.name}}` : undefined;
    this.deps.recorder.event(withKind, type, reason, message, fieldPath ? { fieldPath } : {});
  }

  private async run(): Promise<void> {
    const pod = this.pod;
    this.startTime ??= stamp(this.deps.now());
    void this.enforceActiveDeadline().catch(this.deps.onError);
    const fallback = this.deps.fallback;
    if (fallback) {
      const why = await fallback.reason(pod).catch((e: unknown) => {
        this.deps.onError(e);
        return undefined;
      });
      if (this.stopping) return;
      if (why) {
        this.runtime = fallback.runtime;
        this.event(
          "Warning",
          "ImageUnavailable",
          `${why}; running the containers' commands from the host (process runtime)`,
        );
      }
    }
    // A simulated pod writes no logs and mounts no volumes: it needs no directory.
    const real = this.runtime.runsPrograms;
    if (real && !(await this.makePodDir())) return;
    if (real) await this.countRunsFromLogs();
    if (real && !(await this.setUpVolumes())) return;
    if (this.runtime.withoutSandbox && !this.deps.sandbox) {
      this.event("Warning", "NoSandbox", this.runtime.withoutSandbox);
    }
    if (this.deps.network) {
      try {
        this.netns = await this.deps.network();
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        this.event(
          "Warning",
          "PodNetworkUnavailable",
          `the pod's network namespace could not be made (${why}): the pod shares the host's network namespace`,
        );
      }
      if (this.stopping) return;
    }
    this.sandboxReady = true;
    this.pushStatus();
    this.startEphemerals();
    const sidecars = await this.runInitContainers();
    if (!sidecars) return;
    this.initDone = true;
    this.pushStatus();
    const refresh = this.runtime.runsPrograms ? this.refreshVolumes() : Promise.resolve();
    void pod;
    await Promise.all(this.mainOrder.map((c) => this.runContainer(c)));
    this.containersDone = true;
    for (const w of this.wake.splice(0)) w();
    // The app containers are done (a pod that does not restart them): its sidecars stop too,
    // in reverse order (when the pod is stopping, `terminate` stops them).
    if (!this.stopping)
      void this.stopContainers(this.initOrder.filter(isSidecar), this.clock() + this.graceMs());
    await Promise.all(sidecars);
    await refresh;
    this.pushStatus();
  }

  /**
   * Runs the init containers in the order initorder.ts decides. Resolves to the run loops of the
   * sidecars, which go on beside the app containers; undefined when the pod goes no further (an
   * init container failed for good, or the pod stops).
   */
  private async runInitContainers(): Promise<Promise<boolean>[] | undefined> {
    const loops = new Map<string, Promise<boolean>>();
    const finished = new Map<string, boolean>();
    for (;;) {
      if (this.stopping) break;
      const next = nextInitStep(
        this.initOrder.map((c) => ({
          name: c.spec.name,
          sidecar: isSidecar(c),
          launched: loops.has(c.spec.name),
          started: c.state.running !== undefined && c.started,
          finished: finished.get(c.spec.name),
        })),
      );
      if (next.type === "done") {
        return this.initOrder.filter(isSidecar).flatMap((c) => loops.get(c.spec.name) ?? []);
      }
      if (next.type === "failed") break;
      const c = this.cs.get(next.name);
      if (!c) break;
      if (next.type === "start") {
        const loop = this.runContainer(c);
        loops.set(next.name, loop);
        // Its failures surface where it is awaited (below, or with the sidecars).
        loop.then(
          (ok) => finished.set(next.name, ok),
          () => {},
        );
        continue;
      }
      // A regular one: until its run loop ends; a sidecar: until it has started (polled, as
      // its probes say so).
      if (isSidecar(c)) await this.sleep(20);
      else finished.set(next.name, (await loops.get(next.name)) === true);
    }
    this.pushStatus();
    return undefined;
  }

  /**
   * Rewrites ConfigMap, Secret and downward API volumes every `volumeRefreshMs` while containers
   * run, so that changes of those objects reach the files (the kubelet's periodic sync does this).
   */
  private async refreshVolumes(): Promise<void> {
    const live = (this.pod.spec?.volumes ?? []).some(
      (v) => v.configMap || v.secret || v.downwardAPI || v.projected,
    );
    while (live && !this.stopping && !this.containersDone) {
      await this.sleep(this.deps.volumeRefreshMs ?? 10_000);
      if (this.stopping || this.containersDone) return;
      try {
        await materializeVolumes(this.pod, this.podDir, this.deps.volumeSources(this.pod));
      } catch (e) {
        if (!(e instanceof VolumeError)) this.deps.onError(e);
      }
    }
  }

  /**
   * Retries until the pod's directory exists (a read-only or full disk: the kubelet's Warning
   * `Failed` "error making pod data directories" meanwhile); false if stopped.
   */
  private async makePodDir(): Promise<boolean> {
    return this.retrying(
      "Failed",
      (e) => `error making pod data directories: ${e}`,
      () => {
        mkdirSync(this.podDir, { recursive: true });
      },
    );
  }

  /**
   * The runtime's own record of the containers that ran: a log file `<n>.log` (a file it wrote,
   * not a link) means run n happened, even when the agent was killed before it could write that
   * run's status.
   */
  private async countRunsFromLogs(): Promise<void> {
    for (const c of this.cs.values()) {
      let names: string[];
      try {
        const entries = await readdir(join(this.podDir, c.spec.name), { withFileTypes: true });
        names = entries.filter((e) => e.isFile()).map((e) => e.name);
      } catch {
        continue;
      }
      const runs = names.map((f) => /^(\d+)\.log/.exec(f)?.[1]).filter((n) => n !== undefined);
      if (runs.length === 0) continue;
      const last = Math.max(...runs.map(Number));
      if (c.ran && c.restartCount >= last) continue;
      c.restartCount = last;
      c.ran = true;
    }
  }

  /** Retries until the volumes are set up (FailedMount events meanwhile); false if stopped. */
  private async setUpVolumes(): Promise<boolean> {
    return this.retrying(
      "FailedMount",
      (e) => e,
      async () => {
        this.volumes = await materializeVolumes(this.pod, this.podDir, {
          ...this.deps.volumeSources(this.pod),
        });
      },
    );
  }

  /** Runs `step` until it succeeds, a Warning per new message meanwhile; false if stopped. */
  private async retrying(
    reason: string,
    message: (error: string) => string,
    step: () => void | Promise<void>,
  ): Promise<boolean> {
    let last = "";
    while (!this.stopping) {
      try {
        await step();
        return true;
      } catch (e) {
        const text = message(e instanceof Error ? e.message : String(e));
        if (text !== last) this.event("Warning", reason, text);
        last = text;
        await this.sleep(2000);
      }
    }
    return false;
  }

  /** How long a container that could not start waits before the next try. */
  private retryDelay(c: CState): number {
    const asked = c.retryInMs;
    c.retryInMs = undefined;
    return asked ?? Math.max(this.deps.backoff.initialMs, 1000);
  }

  private restartPolicy(): string {
    return this.pod.spec?.restartPolicy ?? "Always";
  }

  /** Runs a container until it should not restart; true when it ended successfully. */
  private async runContainer(c: CState): Promise<boolean> {
    // A sidecar ends with the app containers.
    const over = () => this.stopping || (isSidecar(c) && this.containersDone);
    while (!over()) {
      const exit = await this.startOnce(c);
      const event: LifecycleEvent = exit
        ? { type: "exited", exitCode: exit.exitCode }
        : { type: "startRefused", retryInMs: this.retryDelay(c) };
      const next = this.step(c, event);
      let finished: boolean | undefined;
      for (const a of next) {
        if (a.type === "finish") finished = a.succeeded;
        else if (a.type === "restart") {
          const wait = a.at - this.clock();
          if (wait > 0) await this.sleep(wait);
        } else this.act(c, a);
      }
      if (finished !== undefined) return finished;
    }
    return false;
  }

  /** The time of the injected clock (ms). */
  private clock(): number {
    return this.deps.now().getTime();
  }

  /** What the pod's lifecycle machine (lifecycle.ts) knows of the pod. */
  private podFacts(): PodFacts {
    const meta = this.pod.metadata ?? {};
    return {
      name: meta.name ?? "",
      namespace: meta.namespace ?? "",
      uid: meta.uid ?? "",
      restartPolicy: this.restartPolicy(),
      graceMs: this.graceMs(),
      stopping: this.stopping,
      appsDone: this.containersDone,
    };
  }

  /** Feeds `event` of container `c` to the lifecycle machine; keeps its state, returns its actions. */
  private step(c: CState, event: LifecycleEvent): LifecycleAction[] {
    const facts: ContainerFacts = {
      name: c.spec.name,
      role: this.role(c),
      changed: c.changed === true,
      backoff: c.backoff,
      state: c.state,
      running: c.handle !== undefined,
    };
    const next = step(this.podFacts(), facts, event, this.clock(), this.deps.backoff);
    if (next.backoff) c.backoff = next.backoff;
    if (next.changed !== undefined) c.changed = next.changed;
    return next.actions;
  }

  /** Carries out an action of the lifecycle machine on container `c` (restart and finish: the caller's). */
  private act(c: CState, a: LifecycleAction): void {
    switch (a.type) {
      case "wait":
        c.lastState = c.state;
        c.state = { waiting: { reason: a.reason, message: a.message } };
        return;
      case "event":
        this.event(a.eventType, a.reason, a.message, c);
        return;
      case "writeStatus":
        this.pushStatus();
        return;
      case "kill":
        void this.killContainer(c, a.deadline, a.message);
        return;
      case "ready":
        c.ready = a.ready;
        return;
      case "started":
        c.started = true;
        return;
      case "stopProbes":
        if (a.kinds === "all") {
          c.stopProbes?.();
        }
        return;
      case "startProbes":
      case "restart":
      case "finish":
        return;
    }
  }

  /** Starts the container once and waits for it to exit; undefined on a configuration error. */
  private async startOnce(c: CState): Promise<ContainerExit | undefined> {
    const pod = this.pod;
    const spec = c.spec;
    const runtime = this.runtime;
    let env: Record<string, string> = {};
    let handle: ContainerHandle | undefined;
    const startedAt = this.deps.now();
    try {
      const refused = runtime.refuse(spec);
      if (refused !== undefined) throw new EnvError(refused);
      if (runtime.runsPrograms) {
        const sources = this.deps.envSources(pod);
        env = await containerEnv(pod, spec, {
          ...sources,
          ...(runtime.envBase ? { base: runtime.envBase } : {}),
          podIP: this.deps.podIP,
          hostIP: this.deps.hostIP,
        });
      }
      if (this.stopping) return undefined;
      if (this.deps.pullImage && runtime.pullsImages) {
        const pulled = await this.deps.pullImage(pod, spec, (type, reason, message) =>
          this.event(type, reason, message, c),
        );
        if ("waiting" in pulled) {
          c.retryInMs = pulled.retryInMs;
          c.state = { waiting: pulled.waiting };
          this.pushStatus();
          return undefined;
        }
        c.image = pulled.image;
        c.imageID = pulled.imageID;
        if (this.stopping) return undefined;
      }
      handle = await runtime.start({
        pod,
        container: spec,
        runsToCompletion: c.init && !isSidecar(c),
        env,
        volumes: this.volumes,
        podDir: this.podDir,
        podIP: this.deps.podIP,
        netnsPath: this.netns.length > 0 ? this.deps.netnsPath : undefined,
        image: c.image,
        pidNamespacePath: this.targetPidNamespace(c),
        wrap: () => this.wrapFor(c),
        openLog: () => this.openLog(c),
        stopping: () => this.stopping,
        sleep: (ms) => this.sleep(ms),
        onSkip: (m) => this.event("Warning", "FailedMount", m, c),
      });
      if (handle === undefined) return undefined;
    } catch (e) {
      if (e instanceof EnvError) {
        const reason = e.reason ?? "CreateContainerConfigError";
        const first = c.state.waiting?.reason !== reason;
        c.state = { waiting: { reason, message: e.message } };
        this.pushStatus();
        if (first) this.event("Warning", "Failed", `Error: ${e.message}`, c);
        return undefined;
      }
      const message = e instanceof StartError ? e.message : String(e);
      this.event("Warning", "Failed", `Error: ${message}`, c);
      const now = stamp(this.deps.now());
      if (c.state.running || c.state.terminated) c.lastState = c.state;
      c.state = {
        terminated: {
          exitCode: 128,
          reason: "StartError",
          message,
          startedAt: "1970-01-01T00:00:00Z",
          finishedAt: now,
        },
      };
      this.pushStatus();
      return { exitCode: 128 };
    }

    if (c.state.terminated) c.lastState = c.state;
    if (c.ran) c.restartCount++;
    c.ran = true;
    c.handle = handle;
    c.containerID = handle.containerID;
    c.state = { running: { startedAt: stamp(startedAt) } };
    this.event("Normal", "Created", `Created container: ${spec.name}`, c);
    this.event("Normal", "Started", `Started container ${spec.name}`, c);
    c.started = !spec.startupProbe || !runtime.runsPrograms;
    c.ready =
      c.ephemeral || (c.init && !isSidecar(c))
        ? false
        : !runtime.runsPrograms || !spec.readinessProbe;
    this.pushStatus();

    if (spec.lifecycle?.postStart && runtime.runsPrograms) {
      const r = await this.runHook(spec.lifecycle.postStart, c, spec, env, 30_000);
      if (!r.ok) {
        for (const a of this.step(c, { type: "postStartFailed", message: r.message })) {
          if (a.type === "kill") await this.killContainer(c, a.deadline, a.message);
          else this.act(c, a);
        }
      }
    }
    if (runtime.runsPrograms && !c.ephemeral && (!c.init || isSidecar(c))) this.startProbes(c, env);
    // Returned, not awaited: this frame (env, argv, …) is freed while the container runs, which
    // for a simulated pod is its whole life.
    return this.untilExit(c, handle, startedAt);
  }

  /**
   * The prefix a container's process starts under: the pod's network namespace and sandbox; for
   * an ephemeral container with `targetContainerName`, the target's own namespaces (as exec
   * enters them) while the target runs. Undefined: a plain host process.
   */
  private wrapFor(c: CState): string[] | undefined {
    const target = (c.spec as { targetContainerName?: string }).targetContainerName;
    if (c.ephemeral && target) {
      const t = this.cs.get(target);
      const entered = t?.state.running ? this.enter(t) : undefined;
      if (entered) return entered;
    }
    const outsideUserns = this.deps.rootlessSandbox && this.netns.length === 0;
    const sandbox = outsideUserns
      ? undefined
      : this.deps.sandbox?.(this.pod, c.spec, this.volumes, (m) =>
          this.event("Warning", "FailedMount", m, c),
        );
    if (sandbox) return [...this.netns, ...sandbox];
    return this.netns.length > 0 ? this.netns : undefined;
  }

  /**
   * Without the sandbox (rootless pod networks), a pod's own network namespace is all there is to
   * enter: its prefix, for exec, exec probes and hooks.
   */
  private netnsOnly(): ((tty: boolean) => string[]) | undefined {
    if (this.deps.sandbox || this.netns.length === 0) return undefined;
    const prefix = this.netns;
    return () => prefix;
  }

  /**
   * An ephemeral container's target's PID namespace (`/proc/<pid>/ns/pid` of the running target's
   * process), which the oci runtime joins as containerd does for `targetContainerName`.
   */
  private targetPidNamespace(c: CState): string | undefined {
    const target = (c.spec as { targetContainerName?: string }).targetContainerName;
    if (!c.ephemeral || !target) return undefined;
    const t = this.cs.get(target);
    const pid = t?.state.running ? t.handle?.pid : undefined;
    return pid ? `/proc/${pid}/ns/pid` : undefined;
  }

  /**
   * Opens the log of the container's next run, `<container>/<restart>.log`, after removing the
   * logs of runs before the previous one (the kubelet keeps one dead container). A log that cannot
   * be created fails the start (StartError, as containerd's "failed to create and open log
   * file"); one that fails later drops lines and the container runs on, with a warning.
   */
  private async openLog(c: CState): Promise<ContainerLog> {
    const restart = c.restartCount + (c.ran ? 1 : 0);
    const dir = join(this.podDir, c.spec.name);
    const path = join(dir, `${restart}.log`);
    const where = `pod ${this.name} container ${c.spec.name}`;
    await removeOldRestartLogs(dir, restart, {
      ...(this.deps.logFs ? { fs: this.deps.logFs } : {}),
      onError: (e) => this.deps.warn(`${where}: removing old logs: ${e.message}`),
    });
    try {
      return await this.deps.openLog(path, (e, what) => {
        const message =
          what === "write"
            ? `writing its log failed (${e.message}): its output is dropped until the log can be written again`
            : `${what === "rotate" ? "rotating" : "cleaning up"} its log failed: ${e.message}`;
        this.deps.warn(`${where}: ${message}`);
      });
    } catch (e) {
      throw new StartError(
        `failed to create and open log file: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }

  /** Waits for the container's exit and records it. */
  private async untilExit(
    c: CState,
    handle: ContainerHandle,
    startedAt: Date,
  ): Promise<ContainerExit> {
    const exit = await handle.exited;
    c.stopProbes?.();
    c.stopProbes = undefined;
    c.handle = undefined;
    c.ready = false;
    c.started = false;
    c.state = {
      terminated: {
        exitCode: exit.exitCode,
        reason: exit.exitCode === 0 ? "Completed" : "Error",
        ...(exit.signal ? { signal: signalNumber(exit.signal) } : {}),
        startedAt: stamp(startedAt),
        finishedAt: stamp(this.deps.now()),
        containerID: handle.containerID,
      },
    };
    this.pushStatus();
    return exit;
  }

  private graceMs(): number {
    return (this.pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000;
  }

  private startProbes(c: CState, env: Record<string, string>): void {
    const spec = c.spec;
    const target = {
      podIP: this.deps.podIP,
      env,
      cwd: spec.workingDir || this.deps.workingDir,
      wrap: () => this.enter(c),
      ...(this.deps.dialPod && this.netns.length > 0 ? { dial: this.deps.dialPod } : {}),
    };
    const stops: (() => void)[] = [];
    const workers = new Map<ProbeKind, { stop(): void }>();
    const label: Record<ProbeKind, string> = {
      startup: "Startup",
      liveness: "Liveness",
      readiness: "Readiness",
    };
    const start = (kind: ProbeKind) => {
      const probe =
        kind === "startup"
          ? spec.startupProbe
          : kind === "liveness"
            ? spec.livenessProbe
            : spec.readinessProbe;
      if (!probe) return;
      const w = startProbeWorker({
        kind,
        probe,
        container: spec,
        target,
        onCheck: (o) => {
          if (!this.stopping && c.handle) {
            this.event("Warning", "Unhealthy", `${label[kind]} probe failed: ${o.message}`, c);
          }
        },
        onResult: (ok) => {
          const graceSeconds = probe.terminationGracePeriodSeconds;
          for (const a of this.step(c, { type: "probe", kind, ok, graceSeconds })) {
            if (a.type === "startProbes") for (const k of a.kinds) start(k);
            else if (a.type === "stopProbes" && a.kinds !== "all")
              for (const k of a.kinds) workers.get(k)?.stop();
            else this.act(c, a);
          }
        },
      });
      workers.set(kind, w);
      stops.push(() => w.stop());
    };
    c.stopProbes = () => {
      for (const s of stops.splice(0)) s();
    };
    if (spec.startupProbe) start("startup");
    else {
      start("liveness");
      start("readiness");
    }
  }

  private async runHook(
    h: LifecycleHandler,
    c: CState,
    spec: Container,
    env: Record<string, string>,
    timeoutMs: number,
  ): Promise<{ ok: boolean; message: string }> {
    if (h.sleep) {
      await new Promise((r) => setTimeout(r, Math.min(h.sleep!.seconds * 1000, timeoutMs)));
      return { ok: true, message: "" };
    }
    const probe = {
      ...(h.exec ? { exec: h.exec } : {}),
      ...(h.httpGet ? { httpGet: h.httpGet } : {}),
      ...(h.tcpSocket ? { tcpSocket: h.tcpSocket } : {}),
      timeoutSeconds: Math.max(1, Math.ceil(timeoutMs / 1000)),
    };
    return runCheck(probe, spec, {
      podIP: this.deps.podIP,
      env,
      cwd: spec.workingDir || this.deps.workingDir,
      wrap: () => this.enter(c),
    });
  }

  /** The prefix that runs a command in the container's namespaces, root and directory. */
  private enter(c: CState): string[] | undefined {
    if (c.handle?.enter) return c.handle.enter(false);
    const own = this.netnsOnly();
    if (own && c.handle?.pid) return own(false);
    const pid = c.handle?.pid;
    if (!this.deps.sandbox || !pid) return undefined;
    return enterPid(pid, this.deps.rootlessSandbox === true);
  }

  /** The role of a container in the lifecycle machine and the termination order. */
  private role(c: CState): ContainerRole {
    if (c.ephemeral) return "ephemeral";
    if (isSidecar(c)) return "sidecar";
    return c.init ? "init" : "app";
  }

  /**
   * Stops `containers` by `deadline` in kube's order (termination.ts): each sidecar gets its
   * SIGTERM once the app containers and the sidecars declared after it have exited.
   */
  private async stopContainers(containers: CState[], deadline: number): Promise<void> {
    const turns = terminationTurns(
      containers.map((c) => ({
        name: c.spec.name,
        role: this.role(c),
        running: c.handle !== undefined,
      })),
    );
    const exits = new Map(containers.map((c) => [c.spec.name, c.handle?.exited]));
    await Promise.all(
      containers.map((c) => {
        const before = (turns.get(c.spec.name) ?? []).map((n) => exits.get(n));
        const turn = before.length > 0 ? Promise.all(before) : undefined;
        return this.killContainer(c, deadline, `Stopping container ${c.spec.name}`, turn);
      }),
    );
  }

  /**
   * Stops a container's run: its preStop hook (when the pod stops), then, once `turn` has
   * settled (the containers it waits for have exited), SIGTERM, and SIGKILL at the deadline.
   */
  private async killContainer(
    c: CState,
    deadline: number,
    message: string,
    turn?: Promise<unknown>,
  ): Promise<void> {
    const handle = c.handle;
    if (!handle) return;
    this.event("Normal", "Killing", message, c);
    const preStop = c.spec.lifecycle?.preStop;
    let waited = false;
    if (preStop && this.runtime.runsPrograms && this.stopping) {
      waited = true;
      const env = await containerEnv(this.pod, c.spec, {
        ...this.deps.envSources(this.pod),
        podIP: this.deps.podIP,
        hostIP: this.deps.hostIP,
      }).catch(() => ({}) as Record<string, string>);
      const hook = this.runHook(preStop, c, c.spec, env, Math.max(0, deadline - this.clock()));
      // The hook ends at the grace deadline, or sooner when the grace period is cut short.
      if (!(await this.untilDeadline(deadline, hook))) {
        const r = await hook;
        if (!r.ok) this.event("Warning", "FailedPreStopHook", r.message, c);
      }
    }
    if (turn !== undefined) {
      waited = true;
      await this.untilDeadline(deadline, turn);
    }
    const at = sigkillAt({ deadline, killBy: this.killBy, now: this.clock() }, waited);
    deadline = at.deadline;
    this.killBy = at.killBy;
    handle.kill("SIGTERM");
    if (await this.untilDeadline(deadline, handle.exited)) handle.kill("SIGKILL");
    await handle.exited;
  }

  /** Writes the current status (coalesced: at most one write in flight, then the latest). */
  pushStatus(): void {
    if (this.silent) return;
    this.dirty = true;
    this.writing = this.writing.then(async () => {
      if (!this.dirty || this.silent) return;
      this.dirty = false;
      const status = this.buildStatus();
      const text = JSON.stringify(status);
      if (digest(text) === this.lastWritten) return;
      const meta = this.pod.metadata ?? {};
      try {
        const updated = await this.deps.client.patch(
          sub(REFS.pods, "status"),
          meta.namespace ?? "",
          meta.name ?? "",
          "merge",
          { status },
        );
        this.lastWritten = digest(text);
        // Keep our view of the conditions' transition times current until the informer shows
        // this write; when it already has, keep its object (the store's own), not this copy.
        if (this.pod.metadata?.resourceVersion !== updated.metadata?.resourceVersion)
          this.pod = updated as Pod;
      } catch (e) {
        if (!isStatusError(e, "NotFound")) this.deps.onError(e);
      }
    });
  }

  private anyRunning(): boolean {
    return [...this.cs.values()].some((c) => c.state.running);
  }

  /** The status of the pod now (status.ts builds it from the worker's state). */
  buildStatus(): Record<string, unknown> {
    const view = (c: CState): ContainerView => ({ ...c, sidecar: isSidecar(c) });
    return podStatus(
      {
        pod: this.pod,
        init: this.initOrder.map(view),
        app: this.mainOrder.map(view),
        ephemeral: this.ephemeralOrder.map(view),
        sandboxReady: this.sandboxReady,
        initDone: this.initDone,
        terminal: this.deleting && this.stopping && !this.anyRunning(),
        hostIP: this.deps.hostIP,
        podIP: this.deps.podIP,
        startTime: this.startTime,
        failed: this.failed,
      },
      stamp(this.deps.now()),
    );
  }
}

/**
 * What a container that ran before this worker (the agent was stopped or killed meanwhile) left
 * as its last state, as the runtime reports a container of a node that went down: its own
 * terminated state after a graceful stop; exit code 255, reason `Unknown` (containerd's words
 * for a container whose task vanished) if it was still running; else the last state it had.
 */
function previousState(s: ContainerStatus, now: string): ContainerState {
  if (s.state?.terminated) return { terminated: { ...s.state.terminated } };
  if (s.state?.running) {
    return {
      terminated: {
        exitCode: 255,
        reason: "Unknown",
        startedAt: s.state.running.startedAt ?? now,
        finishedAt: now,
        ...(s.containerID ? { containerID: s.containerID } : {}),
      },
    };
  }
  return s.lastState ?? {};
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
const signalNumber = (s: string) => SIGNALS[s] ?? 9;

/** The prefix that enters a sandboxed container's namespaces, root and directory by its pid. */
function enterPid(pid: number, userns: boolean): string[] {
  const user = userns ? ["-U", "--preserve-credentials"] : [];
  return ["nsenter", "-t", String(pid), ...user, "-m", "-u", "-n", "-r", "-w", "--"];
}
