/**
 * The library entry point: `import { … } from "loopkube"`.
 *
 * @module
 */
export { VERSION } from "./api/version.ts";
