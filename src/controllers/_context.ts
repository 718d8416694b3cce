/**
 * What every controller is started with: the API (through the client interface only), the shared
 * informers, the clock, and where to report errors. Controllers never import each other.
 *
 * @module
 */
import type { LegacyTokenSigner } from "../api/serviceaccount.ts";
import type { ApiVerbs } from "../api/verbs.ts";
import type { InformerFactory } from "../client/factory.ts";
import type { Clock } from "../client/index.ts";

export interface ControllerContext {
  client: ApiVerbs;
  informers: InformerFactory;
  now: () => Date;
  /**
   * The clock of schedules (the CronJob controller's time and delays); default `now` and real
   * timers. Tests inject a manual clock to run schedules without waiting.
   */
  scheduleClock?: Clock;
  /** Where controllers keep local state (the volume provisioner's `volumes/`); optional. */
  dataDir?: string;
  /** The cluster CA (PEM) the root-ca-cert-publisher puts in every namespace; optional. */
  rootCA?: string;
  /**
   * Signs legacy service-account tokens (the API server's service-account key) for the token
   * controller, as kube-controller-manager's `--service-account-private-key-file`; without it
   * token Secrets are only checked against their ServiceAccounts, never filled.
   */
  signLegacyToken?: LegacyTokenSigner;
  /**
   * Pod usage as `metrics.k8s.io` serves it (the node agent's measurements), for the HPA
   * controller; undefined or throwing: no resource metrics API.
   */
  resourceMetrics?: () => Promise<{
    pods: ReadonlyMap<
      string,
      {
        timestamp: Date;
        windowMs: number;
        containers: ReadonlyArray<{ name: string; cpuNanoCores: number; memoryBytes: number }>;
      }
    >;
  }>;
  /** The HPA controller's flags (sync period, downscale stabilization, tolerance); tests. */
  hpa?: {
    syncPeriodMs?: number;
    downscaleStabilizationMs?: number;
    tolerance?: number;
    cpuInitializationPeriodMs?: number;
    delayOfInitialReadinessStatusMs?: number;
  };
  /**
   * The client and informers a controller acts with, by its name in `CONTROLLERS` (kube-
   * controller-manager's `--use-service-account-credentials`: each controller under its own
   * identity); without it every controller shares `client` and `informers`.
   */
  as?: (controller: string) => Pick<ControllerContext, "client" | "informers">;
  /** Told about failed reconciles (they are retried with back-off by the runner). */
  onError?: (
    error: unknown,
    context: { controller: string; key: string; terminal: boolean },
  ) => void;
}

/** A started controller: `stop` shuts its queue down and waits for its workers. */
export interface StartedController {
  name: string;
  stop(): Promise<void>;
}
