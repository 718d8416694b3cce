/**
 * Test support shared by the unit tests beside the code and the end-to-end tests in `test/`.
 * Only tests import it; it imports nothing of ours (`test/architecture.test.ts` checks both).
 *
 * @module
 */

export {
  buildBusyboxLayout,
  imageToolsMissing,
  type Layout,
  type LayoutOptions,
  skopeoCopy,
  startRegistry,
  type TestRegistry,
} from "./images.ts";
export {
  type NotYet,
  WAIT_INTERVAL_MS,
  WAIT_TIMEOUT_MS,
  type WaitOptions,
  waitFor,
} from "./wait.ts";
