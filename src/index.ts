/**
 * The library entry point: `import { startCluster } from "loopkube"` runs a whole cluster inside
 * a test or a program (see `cluster/index.ts` for the contract).
 *
 * @module
 */

export { VERSION } from "./api/version.ts";
export {
  type Cluster,
  ClusterError,
  type ClusterOptions,
  type ComponentStatus,
  startCluster,
} from "./cluster/index.ts";
