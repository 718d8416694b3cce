/**
 * Service address allocation in the Service create/update/delete path, as kube-apiserver does it:
 * ClusterIPs from the service CIDR (a requested IP is honoured or refused with Kubernetes'
 * message), `clusterIP: None` for headless Services, NodePorts for NodePort and LoadBalancer
 * Services. State is rebuilt from the stored Services on start (kube's repair loop does the
 * same), so an allocation is never handed out twice, across restarts included; a delete
 * releases what the Service held.
 *
 * @module
 */

import { type Cidr, ipToNumber, numberToIp, parseCidr } from "../../api/cidr.ts";
import { type FieldError, fieldInvalid, internalError, invalid } from "../../api/errors.ts";
import type { KubeObject } from "../../api/types.ts";
import type { Admission } from "../registry/index.ts";
import type { ResourceInfo } from "../resources.ts";
import { BandedAllocator, ipStaticBand, portStaticBand } from "./allocator.ts";

export interface ServiceAllocatorOptions {
  serviceCidr: string;
  nodePortRange: { min: number; max: number };
  random?: () => number;
}

interface ServicePort {
  name?: string;
  port?: number;
  protocol?: string;
  nodePort?: number;
}

interface ServiceSpec {
  type?: string;
  clusterIP?: string;
  clusterIPs?: string[];
  ipFamilies?: string[];
  ipFamilyPolicy?: string;
  ports?: ServicePort[];
  selector?: Record<string, string>;
  allocateLoadBalancerNodePorts?: boolean;
  externalTrafficPolicy?: string;
  healthCheckNodePort?: number;
}

function specOf(svc: KubeObject): ServiceSpec {
  if (!svc.spec || typeof svc.spec !== "object") svc.spec = {};
  return svc.spec as ServiceSpec;
}

function needsClusterIP(spec: ServiceSpec): boolean {
  return spec.type !== "ExternalName" && spec.clusterIP !== "None";
}

function needsNodePorts(spec: ServiceSpec): boolean {
  return (
    spec.type === "NodePort" ||
    (spec.type === "LoadBalancer" && spec.allocateLoadBalancerNodePorts !== false)
  );
}

/** kube's NeedsHealthCheck: the proxy serves a health check for Local LoadBalancers. */
function needsHealthCheck(spec: ServiceSpec): boolean {
  return spec.type === "LoadBalancer" && spec.externalTrafficPolicy === "Local";
}

const HEALTH_CHECK_ONLY =
  "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'";

export class ServiceAllocator {
  readonly cidr: Cidr;
  private readonly ips: BandedAllocator;
  private readonly ports: BandedAllocator;
  private readonly portMin: number;
  private readonly portMax: number;

  constructor(options: ServiceAllocatorOptions) {
    this.cidr = parseCidr(options.serviceCidr);
    const size = this.cidr.total - 2;
    this.ips = new BandedAllocator(size, ipStaticBand(size), options.random);
    this.portMin = options.nodePortRange.min;
    this.portMax = options.nodePortRange.max;
    const portSize = this.portMax - this.portMin + 1;
    this.ports = new BandedAllocator(portSize, portStaticBand(portSize), options.random);
  }

  /** The n-th address of the range (1: the `kubernetes` Service's, 10: kube-dns'). */
  address(n: number): string {
    return numberToIp(this.cidr.base + n);
  }

  private ipOffset(ip: string): number | undefined {
    const n = ipToNumber(ip);
    if (n === undefined) return undefined;
    const offset = n - this.cidr.base - 1;
    return offset >= 0 && offset < this.ips.size ? offset : undefined;
  }

  /** Marks what a stored Service holds (repair on start). */
  restore(svc: KubeObject): void {
    const spec = specOf(svc);
    if (needsClusterIP(spec) && spec.clusterIP) {
      const off = this.ipOffset(spec.clusterIP);
      if (off !== undefined) this.ips.take(off);
    }
    for (const p of spec.ports ?? []) {
      if (p.nodePort) this.ports.take(p.nodePort - this.portMin);
    }
    if (needsHealthCheck(spec) && spec.healthCheckNodePort)
      this.ports.take(spec.healthCheckNodePort - this.portMin);
  }

  /**
   * The health check NodePort of a Local LoadBalancer (kube's allocHealthCheckNodePort): the
   * requested one, or any free one. Failures are internal errors there, not Invalid.
   */
  private allocateHealthCheck(spec: ServiceSpec, undo: Array<() => void>): void {
    const requested = spec.healthCheckNodePort ?? 0;
    if (requested) {
      const off = requested - this.portMin;
      const reason =
        requested < this.portMin || requested > this.portMax
          ? `provided port is not in the valid range. The range of valid ports is ${this.portMin}-${this.portMax}`
          : this.ports.take(off)
            ? undefined
            : "provided port is already allocated";
      if (reason)
        throw internalError(
          `failed to allocate requested HealthCheck NodePort ${requested}: ${reason}`,
        );
      undo.push(() => this.ports.release(off));
      return;
    }
    const off = this.ports.next();
    if (off === undefined)
      throw internalError("failed to allocate a HealthCheck NodePort 0: range is full");
    undo.push(() => this.ports.release(off));
    spec.healthCheckNodePort = this.portMin + off;
  }

  private allocateIP(svc: KubeObject, errors: FieldError[], undo: Array<() => void>): void {
    const spec = specOf(svc);
    const requested = spec.clusterIP || spec.clusterIPs?.[0] || "";
    let ip: string;
    if (requested) {
      const off = this.ipOffset(requested);
      if (off === undefined) {
        errors.push(
          fieldInvalid(
            "spec.clusterIPs",
            [requested],
            `failed to allocate IP ${requested}: the provided IP (${requested}) is not in the valid range. The range of valid IPs is ${this.cidr.text}`,
          ),
        );
        return;
      }
      if (!this.ips.take(off)) {
        errors.push(
          fieldInvalid(
            "spec.clusterIPs",
            [requested],
            `failed to allocate IP ${requested}: provided IP is already allocated`,
          ),
        );
        return;
      }
      undo.push(() => this.ips.release(off));
      ip = requested;
    } else {
      const off = this.ips.next();
      if (off === undefined) {
        errors.push(
          fieldInvalid(
            "spec.clusterIPs",
            [],
            `failed to allocate IP: range is full (${this.cidr.text})`,
          ),
        );
        return;
      }
      undo.push(() => this.ips.release(off));
      ip = numberToIp(this.cidr.base + 1 + off);
    }
    spec.clusterIP = ip;
    spec.clusterIPs = [ip];
    spec.ipFamilies = ["IPv4"];
    spec.ipFamilyPolicy = spec.ipFamilyPolicy ?? "SingleStack";
  }

  private allocatePorts(
    svc: KubeObject,
    taken: Set<number>,
    errors: FieldError[],
    undo: Array<() => void>,
  ): void {
    const spec = specOf(svc);
    (spec.ports ?? []).forEach((p, i) => {
      if (p.nodePort) {
        if (taken.has(p.nodePort)) return; // kept from the stored object
        const off = p.nodePort - this.portMin;
        if (p.nodePort < this.portMin || p.nodePort > this.portMax) {
          errors.push(
            fieldInvalid(
              `spec.ports[${i}].nodePort`,
              p.nodePort,
              `provided port is not in the valid range. The range of valid ports is ${this.portMin}-${this.portMax}`,
            ),
          );
          return;
        }
        if (!this.ports.take(off)) {
          errors.push(
            fieldInvalid(
              `spec.ports[${i}].nodePort`,
              p.nodePort,
              "provided port is already allocated",
            ),
          );
          return;
        }
        undo.push(() => this.ports.release(off));
        return;
      }
      const off = this.ports.next();
      if (off === undefined) {
        errors.push(
          fieldInvalid(
            `spec.ports[${i}].nodePort`,
            0,
            "failed to allocate a nodePort: range is full",
          ),
        );
        return;
      }
      undo.push(() => this.ports.release(off));
      p.nodePort = this.portMin + off;
    });
  }

  private headless(svc: KubeObject): void {
    const spec = specOf(svc);
    spec.clusterIPs = ["None"];
    spec.ipFamilies = spec.ipFamilies?.length ? spec.ipFamilies : ["IPv4"];
    spec.ipFamilyPolicy =
      spec.ipFamilyPolicy ?? (spec.selector ? "SingleStack" : "RequireDualStack");
  }

  create(svc: KubeObject): () => void {
    const spec = specOf(svc);
    const errors: FieldError[] = [];
    const undo: Array<() => void> = [];
    const rollback = () => {
      for (const u of undo.reverse()) u();
    };
    if (spec.type === "ExternalName") {
      // no addresses
    } else if (spec.clusterIP === "None" || spec.clusterIPs?.[0] === "None") {
      spec.clusterIP = "None";
      this.headless(svc);
    } else {
      this.allocateIP(svc, errors, undo);
    }
    if (needsNodePorts(spec)) this.allocatePorts(svc, new Set(), errors, undo);
    if (!needsHealthCheck(spec) && spec.healthCheckNodePort)
      errors.push(
        fieldInvalid("spec.healthCheckNodePort", spec.healthCheckNodePort, HEALTH_CHECK_ONLY),
      );
    if (errors.length > 0) {
      rollback();
      throw invalid("Service", "", svc.metadata.name ?? "", errors);
    }
    if (needsHealthCheck(spec)) {
      try {
        this.allocateHealthCheck(spec, undo);
      } catch (e) {
        rollback();
        throw e;
      }
    }
    return rollback;
  }

  update(svc: KubeObject, old: KubeObject): () => void {
    const spec = specOf(svc);
    const oldSpec = (old.spec ?? {}) as ServiceSpec;
    const errors: FieldError[] = [];
    const undo: Array<() => void> = [];
    const release: Array<() => void> = [];

    // Keep what the stored Service holds when the new one leaves it unset (kube's patchAllocatedValues).
    if (needsClusterIP(spec) && needsClusterIP(oldSpec) && !spec.clusterIP && oldSpec.clusterIP) {
      spec.clusterIP = oldSpec.clusterIP;
      spec.clusterIPs = oldSpec.clusterIPs ?? [oldSpec.clusterIP];
      if (oldSpec.ipFamilies) spec.ipFamilies = oldSpec.ipFamilies;
      if (oldSpec.ipFamilyPolicy) spec.ipFamilyPolicy = oldSpec.ipFamilyPolicy;
    }
    if (needsClusterIP(spec) && !needsClusterIP(oldSpec)) this.allocateIP(svc, errors, undo);
    if (!needsClusterIP(spec) && needsClusterIP(oldSpec) && oldSpec.clusterIP) {
      const off = this.ipOffset(oldSpec.clusterIP);
      if (off !== undefined) release.push(() => this.ips.release(off));
      if (spec.type === "ExternalName") {
        delete spec.clusterIP;
        delete spec.clusterIPs;
      }
    }

    const oldPorts = new Set(
      (oldSpec.ports ?? []).map((p) => p.nodePort).filter((n): n is number => !!n),
    );
    if (needsNodePorts(spec)) {
      for (const p of spec.ports ?? []) {
        if (!p.nodePort) {
          const match = (oldSpec.ports ?? []).find(
            (o) => o.port === p.port && (o.protocol ?? "TCP") === (p.protocol ?? "TCP"),
          );
          if (match?.nodePort) p.nodePort = match.nodePort;
        }
      }
      this.allocatePorts(svc, oldPorts, errors, undo);
    } else {
      for (const p of spec.ports ?? []) delete p.nodePort;
    }
    const kept = new Set((spec.ports ?? []).map((p) => p.nodePort).filter((n): n is number => !!n));
    for (const n of oldPorts)
      if (!kept.has(n)) release.push(() => this.ports.release(n - this.portMin));

    // The health check NodePort: kept while both need it (and immutable), released when the new
    // one no longer does (dropped with it unless set to something new, which is then refused).
    const oldHealth = needsHealthCheck(oldSpec) ? oldSpec.healthCheckNodePort : undefined;
    let allocateHealth = false;
    if (needsHealthCheck(spec)) {
      if (oldHealth && !spec.healthCheckNodePort) spec.healthCheckNodePort = oldHealth;
      if (oldHealth && spec.healthCheckNodePort !== oldHealth)
        errors.push(
          fieldInvalid("spec.healthCheckNodePort", spec.healthCheckNodePort, "field is immutable"),
        );
      allocateHealth = !oldHealth;
    } else {
      if (oldHealth) {
        release.push(() => this.ports.release(oldHealth - this.portMin));
        if (spec.healthCheckNodePort === oldHealth) delete spec.healthCheckNodePort;
      }
      if (spec.healthCheckNodePort)
        errors.push(
          fieldInvalid("spec.healthCheckNodePort", spec.healthCheckNodePort, HEALTH_CHECK_ONLY),
        );
    }

    const rollback = () => {
      for (const u of undo.reverse()) u();
    };
    if (errors.length > 0) {
      rollback();
      throw invalid("Service", "", svc.metadata.name ?? "", errors);
    }
    if (allocateHealth) {
      try {
        this.allocateHealthCheck(spec, undo);
      } catch (e) {
        rollback();
        throw e;
      }
    }
    // Releases happen now; an undo after a failed write takes them back.
    for (const r of release) r();
    return () => {
      rollback();
      this.restore(old);
    };
  }

  release(svc: KubeObject): void {
    const spec = (svc.spec ?? {}) as ServiceSpec;
    if (needsClusterIP(spec) && spec.clusterIP) {
      const off = this.ipOffset(spec.clusterIP);
      if (off !== undefined) this.ips.release(off);
    }
    for (const p of spec.ports ?? []) if (p.nodePort) this.ports.release(p.nodePort - this.portMin);
    if (needsHealthCheck(spec) && spec.healthCheckNodePort)
      this.ports.release(spec.healthCheckNodePort - this.portMin);
  }

  /** The admission hook for the registry. */
  admission(): Admission {
    const isService = (info: ResourceInfo) => info.group === "" && info.resource === "services";
    return {
      create: (info, obj, dryRun) => {
        if (!isService(info)) return undefined;
        const undo = this.create(obj);
        if (dryRun) {
          undo();
          return undefined;
        }
        return undo;
      },
      update: (info, obj, old, dryRun) => {
        if (!isService(info)) return undefined;
        const undo = this.update(obj, old);
        if (dryRun) {
          undo();
          return undefined;
        }
        return undo;
      },
      deleted: (info, obj) => {
        if (isService(info)) this.release(obj);
      },
    };
  }
}
