/**
 * The cluster DNS server as the cluster runs it: fed by the shared informers, listening on
 * 127.0.0.1 for the host (port 53 when it may and nobody holds it, else a free one, or the port
 * the user asked for) and on its own kube-dns ClusterIP:53 where it may, plus its Prometheus
 * metrics on 127.0.0.1.
 *
 * Contract:
 * - A port the user asked for that cannot be bound fails the start with one sentence naming the
 *   holder and `--dns-port`.
 * - kube-dns's own address is this cluster's: when something else holds it, the start fails
 *   (another cluster on the same service range); when binding it needs privileges this process
 *   lacks, the proxy forwards that address to the host listener instead (`onClusterIP` false).
 * - Resolves once the record view has synced; a failed start closes what it opened.
 *
 * @module
 */
import type { AddressPlan } from "../api/addressplan.ts";
import type { InformerFactory } from "../client/factory.ts";
import {
  type DnsServer,
  DnsView,
  QueryLog,
  startDnsMetricsServer,
  startDnsServer,
} from "../dns/index.ts";
import { feedDnsView } from "../dns/informers.ts";
import { ClusterError, listenError } from "./errors.ts";
import type { LogLevel } from "./options.ts";
import { choosePort, whoHolds } from "./ports.ts";

export interface ClusterDnsContext {
  informers: InformerFactory;
  plan: AddressPlan;
  /** Where the host reaches it: 127.0.0.1. */
  host: string;
  /** The port the user asked for, if any (0: a free one). */
  port: number | undefined;
  metricsPort: number;
  log: (level: LogLevel, message: string) => void;
}

export interface ClusterDns {
  /** The host's address of the DNS server. */
  address: { host: string; port: number };
  /** The server itself answers on kube-dns's ClusterIP:53 (the proxy must not). */
  onClusterIP: boolean;
  metricsUrl: string;
  /** The latest queries both listeners answered. */
  queryLog: QueryLog;
  ready(): boolean;
  stop(): Promise<void>;
}

const DNS_PORT = 53;

export async function startClusterDns(ctx: ClusterDnsContext): Promise<ClusterDns> {
  const { plan, host, log } = ctx;
  const describe = (err: unknown) => (err instanceof Error ? err.message : String(err));
  const stops: (() => Promise<void> | void)[] = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await s();
  };
  try {
    const wanted = await choosePort("DNS", "both", host, ctx.port, DNS_PORT, (m) => log("info", m));
    const view = new DnsView();
    const queryLog = new QueryLog();
    // The cluster serves the default `insecure` pods mode, which never looks pods up.
    const feed = feedDnsView(view, ctx.informers, { pods: false });
    stops.push(() => feed.stop());
    const listen = (address: { host: string; port: number }) =>
      startDnsServer({
        view,
        clusterDomain: plan.clusterDomain,
        dnsServiceIP: plan.dnsServiceIP,
        reverseCIDRs: [plan.serviceCidr, plan.podCidr],
        listen: [address],
        queryLog,
        onError: (err) => log("debug", `dns: ${describe(err)}`),
      });

    let server: DnsServer;
    try {
      server = await listen({ host, port: wanted });
    } catch (err) {
      const inUse = (err as NodeJS.ErrnoException).code === "EADDRINUSE";
      throw listenError(err, "DNS", host, wanted, {
        flag: "--dns-port",
        holder: inUse
          ? (whoHolds("udp", host, wanted) ?? whoHolds("tcp", host, wanted))
          : undefined,
      });
    }
    stops.push(() => server.close());
    const port = server.addresses[0]?.port ?? wanted;

    let own: DnsServer | undefined;
    try {
      own = await listen({ host: plan.dnsServiceIP, port: DNS_PORT });
      const bound = own;
      stops.push(() => bound.close());
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EACCES") {
        const holder = whoHolds("udp", plan.dnsServiceIP, DNS_PORT);
        throw new ClusterError(
          `the kube-dns Service's address ${plan.dnsServiceIP}:${DNS_PORT} is already in use${holder ? ` by ${holder}` : ""}; another cluster may be using the service range ${plan.serviceCidr}: stop it, or give this cluster another range with --service-cidr`,
        );
      }
      log(
        "info",
        `dns: not listening on ${plan.dnsServiceIP}:${DNS_PORT} (needs privileges): the proxy forwards it`,
      );
    }

    const servers = own ? [server, own] : [server];
    const metrics = await startDnsMetricsServer({
      host,
      port: ctx.metricsPort,
      servers: () => servers,
    }).catch((err: unknown) => {
      throw listenError(err, "DNS metrics", host, ctx.metricsPort);
    });
    stops.push(() => metrics.close());
    await feed.synced;
    return {
      address: { host, port },
      onClusterIP: own !== undefined,
      metricsUrl: metrics.url,
      queryLog,
      ready: () => view.synced,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
