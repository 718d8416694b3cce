/**
 * Binding helpers shared by the TCP and UDP frontends: a bind error becomes a typed
 * {@link BindError} with advice the operator can act on.
 *
 * @module
 */

export class BindError extends Error {
  override readonly name = "BindError";
  readonly code: string | undefined;
  constructor(address: string, cause: NodeJS.ErrnoException) {
    super(`cannot listen on ${address}: ${cause.code ?? cause.message}${advice(cause.code)}`, {
      cause,
    });
    this.code = cause.code;
  }
}

function advice(code: string | undefined): string {
  switch (code) {
    case "EACCES":
      return " (ports below 1024 need privileges: lower net.ipv4.ip_unprivileged_port_start or grant CAP_NET_BIND_SERVICE)";
    case "EADDRINUSE":
      return " (another process holds this address)";
    case "EADDRNOTAVAIL":
      return " (the address is not local to this machine)";
    default:
      return "";
  }
}

/** Errors that mean "bind the outgoing socket to the client's address" failed, not the peer. */
export function isLocalBindError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === "EADDRINUSE" || code === "EADDRNOTAVAIL" || code === "EINVAL";
}

/**
 * The address to bind an outgoing socket to so that the backend sees the client's own IP, as
 * kube-proxy's NAT modes preserve it. Only for loopback clients other than 127.0.0.1: binding
 * 127.0.0.1 would funnel every host client through one address's port space for no gain.
 */
export function sourceAddressFor(clientIp: string | undefined): string | undefined {
  if (clientIp === undefined || clientIp === "127.0.0.1" || !clientIp.startsWith("127.")) {
    return undefined;
  }
  return clientIp;
}
