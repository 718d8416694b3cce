/**
 * The ingress controller of the service proxy: Ingresses of loopkube's IngressClass served on a
 * loopback address of the load balancer range (see `controller.ts` for the contract, `routes.ts`
 * for matching, `certs.ts` for TLS).
 *
 * @module
 */
export type { PemPair } from "./certs.ts";
export {
  IngressController,
  type IngressControllerOptions,
  type IngressEventType,
  type IngressListener,
} from "./controller.ts";
export { type InformerIngress, startInformerIngress } from "./informers.ts";
export { normalizeHost, normalizePath, RouteTable } from "./routes.ts";

/** The controller name of loopkube's IngressClass (`spec.controller`). */
export const LOOPKUBE_INGRESS_CONTROLLER = "loopkube.dev/ingress";
/** The name of the IngressClass the cluster creates, marked default. */
export const LOOPKUBE_INGRESS_CLASS = "loopkube";
