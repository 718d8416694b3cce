/**
 * The library entry point: `import { … } from "loopkube"`.
 *
 * @module
 */
export { VERSION } from "./version.ts";
