/**
 * The wiring every controller repeats, in one place: a work queue of string keys, informer
 * handlers that are removed at stop, an event recorder whose failures go to `onError`, the runner
 * (which owns the retry policy), and `stop()` in the one right order — handlers off, the
 * controller's own `onStop` hooks, queue shut down, workers awaited, events flushed.
 *
 * A controller is then its `setup`: it reads informers, registers handlers through `watch`, and
 * returns the reconcile function of one key. `setup` runs once per start; nothing here sleeps or
 * retries.
 *
 * @module
 */
import { asKube, type KubeObject } from "../api/types.ts";
import {
  type Clock,
  createEventRecorder,
  createWorkQueue,
  type EventHandlers,
  type EventRecorder,
  type EventType,
  type Informer,
  type ReconcileResult,
  runController,
  type WorkQueue,
} from "../client/index.ts";
import type { ControllerContext, StartedController } from "./_context.ts";
import type { ObjectType } from "./_owners.ts";

/** What `setup` is given besides the context and the options. */
export interface ControllerKit {
  ctx: ControllerContext;
  queue: WorkQueue<string>;
  /** Adds handlers to an informer; they are removed first thing at stop. */
  watch<T extends KubeObject>(informer: Informer<T>, handlers: NoInfer<EventHandlers<T>>): void;
  /** Runs at stop, after the handlers are removed and before the queue shuts down. */
  onStop(hook: () => void): void;
  recorder: EventRecorder;
  /**
   * An event writer for objects of one kind (informer objects may lack `apiVersion`/`kind`,
   * which an Event's `involvedObject` needs).
   */
  eventsFor(
    type: ObjectType,
  ): (obj: { metadata?: unknown }, type: EventType, reason: string, message: string) => void;
}

export interface ControllerDefinition<O> {
  /** The controller's name in error reports and `StartedController.name`. */
  name: string;
  /** Events' `source.component`; defaults to `name`. */
  component?: string;
  /** Concurrent workers unless the options say otherwise; default 1. */
  workers?: number;
  /** The clock of the queue's delays (e.g. schedules a test drives by hand); default real time. */
  clock?: (ctx: ControllerContext) => Clock | undefined;
  setup(kit: ControllerKit, options: O): (key: string) => Promise<ReconcileResult>;
}

/** Options every defined controller takes. */
export interface StartOptions {
  workers?: number;
}

/** A controller's start function from its definition. */
export function defineController<O extends object = Record<never, never>>(
  definition: ControllerDefinition<O & StartOptions>,
): (ctx: ControllerContext, options?: O & StartOptions) => StartedController {
  const { name } = definition;
  return (ctx, options = {} as O & StartOptions) => {
    const clock = definition.clock?.(ctx);
    const queue = createWorkQueue<string>(clock ? { clock } : {});
    const recorder = createEventRecorder(ctx.client, {
      component: definition.component ?? name,
      ...(ctx.onError
        ? {
            onError: (e: unknown) =>
              ctx.onError?.(e, { controller: name, key: "events", terminal: true }),
          }
        : {}),
    });
    const removers: Array<() => void> = [];
    const hooks: Array<() => void> = [];
    const kit: ControllerKit = {
      ctx,
      queue,
      recorder,
      watch: (informer, handlers) => {
        removers.push(informer.addHandlers(handlers));
      },
      onStop: (hook) => {
        hooks.push(hook);
      },
      eventsFor: (of) => (obj, type, reason, message) =>
        recorder.event(asKube({ ...of, ...obj }), type, reason, message),
    };
    const reconcile = definition.setup(kit, options);
    const running = runController({
      name,
      queue,
      workers: options.workers ?? definition.workers ?? 1,
      ...(ctx.onError ? { onError: ctx.onError } : {}),
      reconcile,
    });
    return {
      name,
      async stop() {
        for (const remove of removers) remove();
        for (const hook of hooks) hook();
        queue.shutDown();
        await running.done;
        await recorder.flush();
      },
    };
  };
}
