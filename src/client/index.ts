/**
 * The one way every component talks to the Kubernetes API: `ApiVerbs` implementations (the HTTP
 * client from a kubeconfig; the in-process registry lives with the API server), informers
 * (list + watch + indexed cache), the rate-limited work queue, the controller runner that owns
 * the retry policy, and the event recorder.
 *
 * Test support (an in-memory `ApiVerbs`, a manual clock, the `ApiVerbs` conformance suite) is in
 * `testing.ts`, kept apart so that production code never loads `node:test`.
 *
 * @module
 */

export type {
  ApiVerbs,
  DeleteOptions,
  ListOptions,
  PatchOptions,
  PatchType,
  ResourceRef,
  WatchHandle,
  WatchOptions,
  WriteOptions,
} from "../api/verbs.ts";
export { type Clock, realClock, sleep } from "./clock.ts";
export { isTerminalError, TerminalError } from "./errors.ts";
export {
  createEventRecorder,
  type EventRecorder,
  type EventRecorderOptions,
  type EventType,
} from "./events.ts";
export { createHttpClient, HttpClient, type HttpClientConfig } from "./http.ts";
export { CONTROLLER_UID_INDEX, controllerUidIndex } from "./indexes.ts";
export {
  createInformer,
  defaultInformerBackoff,
  type EventHandlers,
  type IndexFunc,
  type Informer,
  type InformerOptions,
  type InformerPhase,
  type InformerStats,
  labelIndex,
  NAMESPACE_INDEX,
} from "./informer.ts";
export {
  KubeconfigError,
  type KubeconfigOptions,
  loadKubeconfig,
  loadKubeconfigFile,
} from "./kubeconfig.ts";
export {
  bucketRateLimiter,
  defaultControllerRateLimiter,
  exponentialRateLimiter,
  maxOfRateLimiter,
  type RateLimiter,
} from "./ratelimit.ts";
export {
  type ControllerOptions,
  type ControllerStats,
  type ReconcileResult,
  type RunningController,
  runController,
} from "./runner.ts";
export { createWorkQueue, type QueueItem, WorkQueue, type WorkQueueOptions } from "./workqueue.ts";
