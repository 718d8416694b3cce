/**
 * The order of a pod's init containers as a pure decision, which the pod worker (worker.ts)
 * carries out: given what each init container has done so far, the next step of the pod's
 * initialization.
 *
 * Kube's behaviour (the kubelet's computeInitContainerActions): init containers start one at a
 * time, in the spec's order. A regular one must complete (exit 0) before the next starts; one that
 * fails is restarted with back-off by the container machine (lifecycle.ts), unless the pod's
 * restartPolicy is Never, when it finishes failed and the pod's initialization stops there (the
 * pod is Failed, status.ts). A sidecar (`restartPolicy: Always`) keeps running beside the rest:
 * the next init container starts once the sidecar runs and has passed its startup probe
 * (`started`); one that restarts later holds nothing up. Once the last init container has done
 * so, the app containers start.
 *
 * @module
 */

/** What the worker knows of one init container's progress. */
export interface InitProgress {
  name: string;
  /** A restartable init container (`restartPolicy: Always`). */
  sidecar: boolean;
  /** Its run loop has begun (it is started at most once per pod). */
  launched: boolean;
  /** It runs now and has passed its startup probe (or has none). */
  started: boolean;
  /** Its run loop ended: true when it completed, false when it failed for good. */
  finished?: boolean | undefined;
}

export type InitStep =
  /** Begin the run loop of this init container. */
  | { type: "start"; name: string }
  /** Wait until this init container completes (regular) or has started (sidecar). */
  | { type: "wait"; name: string }
  /** Every init container is done: the app containers start. */
  | { type: "done" }
  /** This regular init container failed for good: the pod goes no further. */
  | { type: "failed"; name: string };

/**
 * The next step of the pod's initialization. Only the last init container begun counts: one
 * before it that restarts meanwhile (a sidecar in back-off) holds nothing up, as the kubelet
 * looks only at the latest one.
 */
export function nextInitStep(inits: readonly InitProgress[]): InitStep {
  let last = -1;
  for (const [i, c] of inits.entries()) if (c.launched) last = i;
  const c = inits[last];
  if (c === undefined) return inits[0] ? { type: "start", name: inits[0].name } : { type: "done" };
  if (c.sidecar ? !c.started : c.finished === undefined) return { type: "wait", name: c.name };
  if (c.finished === false && !c.sidecar) return { type: "failed", name: c.name };
  const after = inits[last + 1];
  return after ? { type: "start", name: after.name } : { type: "done" };
}
