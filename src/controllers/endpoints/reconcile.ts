/**
 * One reconcile of a Service's legacy Endpoints (key `namespace/name`): a Service gone means its
 * Endpoints go too; a Service without a selector is someone else's to manage; otherwise write
 * what `planEndpoints` says, if anything.
 *
 * @module
 */
import type { Endpoints, Pod, Service } from "kubernetes-types/core/v1.js";
import { splitKey } from "../../api/types.ts";
import { planEndpoints } from "./_plan.ts";

export interface EndpointsDeps {
  getService(namespace: string, name: string): Service | undefined;
  selectPods(namespace: string, selector: Record<string, string>): Pod[];
  getEndpoints(namespace: string, name: string): Endpoints | undefined;
  create(ep: Endpoints): Promise<void>;
  update(ep: Endpoints): Promise<void>;
  delete(namespace: string, name: string): Promise<void>;
  /** The trigger-time annotation for this sync (see `../_triggertime.ts`); undefined drops it. */
  triggerTime(service: Service, pods: readonly Pod[]): string | undefined;
  maxAddresses?: number;
}

export async function reconcileEndpoints(key: string, deps: EndpointsDeps): Promise<void> {
  const { namespace, name } = splitKey(key);
  const service = deps.getService(namespace, name);
  const existing = deps.getEndpoints(namespace, name);
  if (!service) {
    if (existing) await deps.delete(namespace, name);
    return;
  }
  if (!service.spec?.selector) return;
  const pods = deps.selectPods(namespace, service.spec.selector);
  const triggerTime = deps.triggerTime(service, pods);
  const next = planEndpoints(service, pods, existing, {
    ...(triggerTime ? { triggerTime } : {}),
    ...(deps.maxAddresses ? { maxAddresses: deps.maxAddresses } : {}),
  });
  if (!next) return;
  if (existing) await deps.update(next);
  else await deps.create(next);
}
