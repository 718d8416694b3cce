/**
 * One HTTPS POST of a review to a webhook, as kube-apiserver's webhook client makes it: the
 * server's certificate verified against the configuration's `caBundle` (the system's roots when
 * there is none) for the URL's host (`<service>.<namespace>.svc` for a service reference),
 * `?timeout=<n>s` on the URL, the whole call bounded by the timeout. Connections are kept alive
 * per (address, host, CA), as Go's transport does. A failure is a {@link CallError} whose text is
 * what Go's client would say (`Post "https://…": dial tcp 127.0.0.1:9: connect: connection
 * refused`, `… context deadline exceeded`, `… x509: certificate signed by unknown authority`).
 *
 * @module
 */
import { Agent, request } from "node:https";
import { isIP } from "node:net";

export class CallError extends Error {}

export interface CallTarget {
  /** The URL called (with `?timeout=`). */
  url: URL;
  /** The URL as kube shows it in errors, when it differs from `url`'s normal form (`:443`). */
  shown?: string;
  /** Where to connect (a resolved endpoint); the URL's host when absent. */
  address?: { host: string; port: number };
  caBundle?: string | undefined;
  timeoutMs: number;
}

/** A Node socket or TLS error in the words of Go's client. */
export function goError(err: NodeJS.ErrnoException, host: string, port: number): string {
  switch (err.code) {
    case "ECONNREFUSED":
      return `dial tcp ${host}:${port}: connect: connection refused`;
    case "ECONNRESET":
      return "read: connection reset by peer";
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
    case "SELF_SIGNED_CERT_IN_CHAIN":
    case "DEPTH_ZERO_SELF_SIGNED_CERT":
    case "UNABLE_TO_GET_ISSUER_CERT_LOCALLY":
      return "tls: failed to verify certificate: x509: certificate signed by unknown authority";
    case "CERT_HAS_EXPIRED":
      return "tls: failed to verify certificate: x509: certificate has expired or is not yet valid";
    case "ERR_TLS_CERT_ALTNAME_INVALID":
      return `tls: failed to verify certificate: x509: ${err.message}`;
    default:
      return err.message;
  }
}

export class WebhookClient {
  private readonly agents = new Map<string, Agent>();

  private agent(target: CallTarget, servername: string | undefined): Agent {
    const addr = target.address ?? {
      host: target.url.hostname,
      port: Number(target.url.port || 443),
    };
    const key = `${addr.host}:${addr.port}|${servername ?? ""}|${target.caBundle ?? ""}`;
    let agent = this.agents.get(key);
    if (!agent) {
      const ca = target.caBundle
        ? Buffer.from(target.caBundle, "base64").toString("utf8")
        : undefined;
      agent = new Agent({
        keepAlive: true,
        maxSockets: 32,
        ...(ca ? { ca } : {}),
        ...(servername ? { servername } : {}),
      });
      this.agents.set(key, agent);
    }
    return agent;
  }

  /** POSTs `body` and resolves with the parsed JSON answer; rejects with a {@link CallError}. */
  post(target: CallTarget, body: unknown): Promise<unknown> {
    const { url } = target;
    const host = url.hostname.replace(/^\[|\]$/g, "");
    const servername = isIP(host) ? undefined : host;
    const connect = target.address ?? { host, port: Number(url.port || 443) };
    const shown = `Post "${target.shown ?? url.toString()}"`;
    const payload = Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (text: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(new CallError(`${shown}: ${text}`));
      };
      const req = request(
        {
          host: connect.host,
          port: connect.port,
          method: "POST",
          path: `${url.pathname}${url.search}`,
          agent: this.agent(target, servername),
          ...(servername ? { servername } : {}),
          headers: {
            "content-type": "application/json",
            accept: "application/json, */*",
            "content-length": payload.length,
            ...(servername ? { host: url.host } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", (e) => fail(goError(e, connect.host, connect.port)));
          res.on("end", () => {
            if (settled) return;
            const text = Buffer.concat(chunks).toString("utf8");
            const status = res.statusCode ?? 0;
            if (status < 200 || status >= 300) {
              fail(
                `an error on the server ("${text.trim().slice(0, 200)}") has prevented the request from succeeding`,
              );
              return;
            }
            try {
              const parsed = JSON.parse(text) as unknown;
              settled = true;
              clearTimeout(timer);
              resolve(parsed);
            } catch (e) {
              fail(`invalid character in the response: ${(e as Error).message}`);
            }
          });
        },
      );
      const timer = setTimeout(() => {
        fail("context deadline exceeded");
        req.destroy();
      }, target.timeoutMs);
      req.on("error", (e: NodeJS.ErrnoException) => fail(goError(e, connect.host, connect.port)));
      req.end(payload);
    });
  }

  close(): void {
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }
}
