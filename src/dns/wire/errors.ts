/**
 * Typed decode/encode failures. `id` is the message ID when the header was readable, so the
 * server can answer FORMERR to the right query; without it the packet is dropped.
 *
 * @module
 */

export type WireErrorReason =
  | "short-header"
  | "truncated"
  | "label-too-long"
  | "name-too-long"
  | "bad-pointer"
  | "pointer-loop"
  | "bad-label-type"
  | "bad-rdata"
  | "trailing-bytes"
  | "duplicate-opt"
  | "bad-opt"
  | "bad-name-text"
  | "bad-address"
  | "too-large";

export class WireError extends Error {
  override readonly name = "WireError";
  constructor(
    readonly reason: WireErrorReason,
    message: string,
    /** Message ID when the 12-byte header was readable. */
    readonly id?: number,
  ) {
    super(message);
  }
}
