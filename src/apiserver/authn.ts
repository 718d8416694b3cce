/**
 * Authentication: who sent a request, as kube-apiserver's union authenticator decides it. In
 * order: a client certificate the cluster CA signed (CN is the user, each O a group), then a
 * bearer token, offered to each token authenticator in turn (the static admin token, then
 * service-account JWTs). The first that recognises the credential decides; a credential nobody
 * accepts is refused (401), never treated as anonymous. Every authenticated user also gets the
 * group `system:authenticated`.
 *
 * With `anonymous` (kube's `--anonymous-auth`, on with RBAC), a request that presents no
 * credential at all is `system:anonymous` in `system:unauthenticated`; authorization decides what
 * it may do. `listen` records the user of each request, read back with {@link requestUser}.
 *
 * @module
 */
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";

export interface UserInfo {
  name: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

/**
 * Recognises a bearer token: a user, a refusal with the reason (a token of its kind that fails
 * its checks), or undefined when the token is not its kind (the next authenticator is asked).
 */
export type TokenAuthenticator = (
  token: string,
) => { user: UserInfo } | { error: string } | undefined;

export type Authenticate = (req: IncomingMessage) => UserInfo | undefined;

const AUTHENTICATED = "system:authenticated";

function withAuthenticatedGroup(user: UserInfo): UserInfo {
  return user.groups.includes(AUTHENTICATED)
    ? user
    : { ...user, groups: [...user.groups, AUTHENTICATED] };
}

/** kube's x509 authenticator over a verified peer certificate: CN → user, O → groups. */
function certificateUser(req: IncomingMessage): UserInfo | undefined {
  const socket = req.socket as Partial<TLSSocket>;
  if (!socket.authorized || typeof socket.getPeerCertificate !== "function") return undefined;
  const subject = socket.getPeerCertificate().subject as
    | { CN?: string | string[]; O?: string | string[] }
    | undefined;
  const list = (v: string | string[] | undefined) => (v === undefined ? [] : [v].flat());
  const name = list(subject?.CN)[0];
  if (!name) return undefined;
  return { name, groups: list(subject?.O) };
}

/** The bearer token of a request (`Authorization: Bearer <token>`), if any. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (!auth) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
  return m?.[1];
}

export const ANONYMOUS: UserInfo = { name: "system:anonymous", groups: ["system:unauthenticated"] };

function presentsCertificate(req: IncomingMessage): boolean {
  const socket = req.socket as Partial<TLSSocket>;
  if (typeof socket.getPeerCertificate !== "function") return false;
  const cert = socket.getPeerCertificate();
  return cert !== null && typeof cert === "object" && Object.keys(cert).length > 0;
}

export function createAuthenticator(
  tokenAuthenticators: readonly TokenAuthenticator[],
  options: { onRefused?: (reason: string) => void; anonymous?: boolean } = {},
): Authenticate {
  return (req) => {
    const fromCert = certificateUser(req);
    if (fromCert) return withAuthenticatedGroup(fromCert);
    const token = bearerToken(req);
    if (token === undefined) {
      return options.anonymous &&
        req.headers.authorization === undefined &&
        !presentsCertificate(req)
        ? ANONYMOUS
        : undefined;
    }
    for (const authenticate of tokenAuthenticators) {
      const result = authenticate(token);
      if (result === undefined) continue;
      if ("error" in result) {
        options.onRefused?.(result.error);
        return undefined;
      }
      return withAuthenticatedGroup(result.user);
    }
    return undefined;
  };
}

/** The static tokens of `tokens()` (the admin token): each one is the cluster admin. */
export function staticTokens(tokens: () => ReadonlySet<string>): TokenAuthenticator {
  return (token) =>
    tokens().has(token)
      ? { user: { name: "kubernetes-admin", groups: ["system:masters"] } }
      : undefined;
}

const users = new WeakMap<IncomingMessage, UserInfo>();

/** Records the authenticated user of a request (done by `listen`). */
export function setRequestUser(req: IncomingMessage, user: UserInfo): void {
  users.set(req, user);
}

/** The authenticated user of a request, for authorization and audit. */
export function requestUser(req: IncomingMessage): UserInfo | undefined {
  return users.get(req);
}
