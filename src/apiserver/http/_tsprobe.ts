/**
 * Loaded by a body worker started from TypeScript sources before its entry: it holds syntax
 * that only a TypeScript compiler takes (a parameter property; Node's type stripping refuses
 * it), so it loads only where tsx compiles for the worker thread. See `bodypool.ts`.
 *
 * @module
 */
export class Probe {
  constructor(readonly ok: boolean) {}
}
