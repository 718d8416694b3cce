/**
 * Test support for code built on `client/`: an in-memory `ApiVerbs` (`FakeApi`), a manual clock
 * (`FakeClock`, `settle`), and the conformance suite every `ApiVerbs` implementation runs.
 * Import from tests only: the conformance suite loads `node:test`.
 *
 * @module
 */
export { FakeClock, settle } from "./_testing/clock.ts";
export { FakeApi, type FakeApiOptions } from "./_testing/fake.ts";
export { type ConformanceTarget, runApiVerbsConformance } from "./verbs.conformance.ts";
