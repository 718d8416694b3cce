/**
 * Cluster DNS: a record view fed with Kubernetes objects, an answerer that follows the
 * Kubernetes DNS specification as CoreDNS's `kubernetes` plugin does, and a UDP/TCP server
 * with forwarding of other names; metrics in CoreDNS's names on an HTTP `/metrics`.
 *
 * @module
 */
export {
  type AnswerOptions,
  answer,
  DEFAULT_DNS_SERVICE_IP,
  DEFAULT_REVERSE_CIDRS,
  DEFAULT_TTL,
  type ExternalResolver,
  isClusterName,
  type PodsMode,
} from "./answer.ts";
export { applyWatchEvent, type DnsResource } from "./feed.ts";
export {
  createForwarder,
  type Forwarder,
  serversFromResolvConf,
  type UpstreamConfig,
} from "./forward.ts";
export {
  createQueryHandler,
  type HandlerOptions,
  type QueryHandler,
  type Transport,
} from "./handler.ts";
export { DnsMetrics } from "./metrics.ts";
export {
  type DnsMetricsServer,
  type DnsMetricsServerOptions,
  renderDnsMetrics,
  startDnsMetricsServer,
} from "./metricsserver.ts";
export { DEFAULT_QUERY_LOG_SIZE, QueryLog, type QueryLogEntry } from "./querylog.ts";
export {
  type DnsServer,
  type DnsServerOptions,
  type ListenAddress,
  startDnsServer,
} from "./server.ts";
export { DnsView, type DnsViewOptions, dashedIP } from "./view.ts";
export { Rcode, RRClass, RRType } from "./wire/constants.ts";
export { decodeMessage } from "./wire/decode.ts";
export { encodeMessage } from "./wire/encode.ts";
export { WireError } from "./wire/errors.ts";
export type { Message, Question, ResourceRecord } from "./wire/message.ts";
