/**
 * `ClusterError`: a failure a user can meet and fix (port in use, data dir locked, bad manifest,
 * DNS port not bindable). Its message is one sentence saying what happened and what to do; the
 * CLI prints it without a stack trace. Anything else is a bug and keeps its stack.
 *
 * @module
 */
export class ClusterError extends Error {
  override readonly name = "ClusterError";
}

export function isClusterError(err: unknown): err is ClusterError {
  return err instanceof ClusterError;
}

/**
 * Turns a listen error into a ClusterError when it is one a user can fix: the sentence names the
 * process holding the address when it is known, and the flag that chooses another port.
 */
export function listenError(
  err: unknown,
  what: string,
  host: string,
  port: number,
  hint: { flag?: string; holder?: string | undefined } = {},
): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const choose = hint.flag
    ? `choose another port with ${hint.flag} (0 picks a free one)`
    : "choose another port (0 picks a free one)";
  if (code === "EADDRINUSE") {
    return new ClusterError(
      hint.holder
        ? `${what} port ${port} on ${host} is already in use by ${hint.holder}; stop it or ${choose}`
        : `${what} port ${port} on ${host} is already in use; stop what uses it or ${choose}`,
    );
  }
  if (code === "EACCES") {
    return new ClusterError(
      `${what} port ${port} on ${host} needs privileges this process lacks; ${choose.replace("another port", "a port above 1023")}`,
    );
  }
  return err;
}
