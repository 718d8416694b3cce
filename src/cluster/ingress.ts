/**
 * The ingress controller as the cluster runs it: on the last address of the cluster's load
 * balancer range (one address for every Ingress, as one ingress controller's LoadBalancer Service
 * would have), ports 80/443 where they can be bound, else 8080/8443, else free ports (the Ingress
 * status and `kubectl get ingress` show them). Its IngressClass `loopkube` is created, marked
 * default, when absent; its fallback certificate is self-signed at each start, named as
 * ingress-nginx names its "Fake Certificate".
 *
 * Contract: `startClusterIngress` resolves once both listeners have opened or failed; a listener
 * that failed on every port makes the component not ready, with the reason.
 *
 * @module
 */
import type { AddressPlan } from "../api/addressplan.ts";
import type { KubeObject } from "../api/types.ts";
import type { ApiVerbs } from "../api/verbs.ts";
import { selfSignedCert } from "../apiserver/pki.ts";
import type { InformerFactory } from "../client/factory.ts";
import { createEventRecorder } from "../client/index.ts";
import {
  type EndpointDialer,
  ingressAddress,
  LOOPKUBE_INGRESS_CLASS,
  LOOPKUBE_INGRESS_CONTROLLER,
  startInformerIngress,
} from "../proxy/index.ts";
import { ensureIngressClass } from "./bootstrap.ts";
import type { LogLevel } from "./options.ts";

export interface ClusterIngressContext {
  /** The controller's own client (its identity: `kube-system/ingress-controller`). */
  client: ApiVerbs;
  /** The cluster's own client, which creates the IngressClass as an installer's manifest would
   *  (an ingress controller's role only reads classes). */
  installer: ApiVerbs;
  /** Informers read as the controller (its role lets it list and watch what it reads). */
  informers: InformerFactory;
  plan: AddressPlan;
  /** How backends the host cannot reach directly (rootless pod networks) are dialled. */
  dial?: EndpointDialer;
  log: (level: LogLevel, message: string) => void;
}

export interface ClusterIngress {
  /** `ip`, and the HTTP and HTTPS ports when open. */
  address(): { ip: string; http?: number; https?: number } | undefined;
  status(): { name: string; ready: boolean; detail?: string };
  stop(): Promise<void>;
}

const FAKE_CERTIFICATE = {
  commonName: "Kubernetes Ingress Controller Fake Certificate",
  organizations: ["Acme Co"],
  hosts: ["ingress.local"],
};

export async function startClusterIngress(
  ctx: ClusterIngressContext,
): Promise<ClusterIngress | undefined> {
  const { log } = ctx;
  const ip = ingressAddress(ctx.plan.loadBalancerCidr);
  if (ip === undefined) {
    log(
      "warn",
      `the load balancer range ${ctx.plan.loadBalancerCidr} has no address to spare for the ingress controller: Ingresses are not served`,
    );
    return undefined;
  }
  const describe = (err: unknown) => (err instanceof Error ? err.message : String(err));
  await ensureIngressClass(ctx.installer, {
    className: LOOPKUBE_INGRESS_CLASS,
    controller: LOOPKUBE_INGRESS_CONTROLLER,
  });
  const recorder = createEventRecorder(ctx.client, {
    component: "loopkube-ingress-controller",
    onError: (err) => log("debug", `ingress events: ${describe(err)}`),
  });
  const ingress = startInformerIngress(ctx.client, ctx.informers, {
    controllerName: LOOPKUBE_INGRESS_CONTROLLER,
    ip,
    defaultCertificate: await selfSignedCert(FAKE_CERTIFICATE),
    ...(ctx.dial ? { dial: ctx.dial } : {}),
    onEvent: (ing, type, reason, message) => {
      recorder.event(ing as unknown as KubeObject, type, reason, message);
      if (type === "Warning") log("debug", `ingress: ${reason}: ${message}`);
    },
    log: (m) => log("debug", m),
  });
  await ingress.controller.settled();
  const listeners = () => ingress.controller.listeners();
  const shown = listeners()
    .map((l) => (l.state === "open" ? `${l.scheme}://${ip}:${l.port}` : `${l.scheme}: ${l.error}`))
    .join(", ");
  log("info", `ingress controller: ${shown}`);
  return {
    address() {
      const [http, https] = listeners();
      return {
        ip,
        ...(http?.port === undefined ? {} : { http: http.port }),
        ...(https?.port === undefined ? {} : { https: https.port }),
      };
    },
    status() {
      const failed = listeners().filter((l) => l.state === "failed");
      if (failed.length > 0) {
        return { name: "ingress", ready: false, detail: failed.map((l) => l.error).join("; ") };
      }
      return { name: "ingress", ready: true, detail: shown };
    },
    async stop() {
      await ingress.stop();
      await recorder.flush();
    },
  };
}
