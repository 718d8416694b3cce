/**
 * The latest queries the server answered, in a bounded ring (the web view's live log).
 *
 * Contract: `record` is on the answer path, so it only keeps a reference to the answer bytes and
 * two numbers (no decoding, no allocation beyond the ring's slots); the oldest entry is
 * overwritten once `capacity` entries are held. `since(seq)` decodes, on the reader's time, the
 * entries recorded after `seq` that are still in the ring, oldest first, each with its sequence
 * number, so a reader polling the ring in-process loses nothing it was fast enough to see.
 * Answers that cannot be read back (never expected: the server wrote them) are skipped.
 *
 * @module
 */
import { decodeMessage } from "./wire/decode.ts";

export interface QueryLogEntry {
  seq: number;
  /** When it was answered (ms since the epoch). */
  at: number;
  name: string;
  /** The query type's number (1 A, 28 AAAA, 33 SRV, …). */
  type: number;
  rcode: number;
  answers: number;
  /** Time from the packet's arrival to the answer, in milliseconds. */
  latencyMs: number;
}

export const DEFAULT_QUERY_LOG_SIZE = 1000;

export class QueryLog {
  readonly capacity: number;
  readonly #answers: (Buffer | undefined)[];
  readonly #at: Float64Array;
  readonly #latency: Float32Array;
  /** Sequence number of the last entry recorded (0: none yet). */
  #seq = 0;
  readonly #now: () => number;

  constructor(capacity = DEFAULT_QUERY_LOG_SIZE, now: () => number = Date.now) {
    this.capacity = Math.max(1, capacity);
    this.#answers = new Array(this.capacity);
    this.#at = new Float64Array(this.capacity);
    this.#latency = new Float32Array(this.capacity);
    this.#now = now;
  }

  get seq(): number {
    return this.#seq;
  }

  record(answer: Buffer, latencyMs: number): void {
    const i = this.#seq % this.capacity;
    this.#seq++;
    this.#answers[i] = answer;
    this.#at[i] = this.#now();
    this.#latency[i] = latencyMs;
  }

  /** Entries recorded after `seq` still held, oldest first, at most `limit` (the newest ones). */
  since(seq: number, limit = this.capacity): QueryLogEntry[] {
    const first = Math.max(seq + 1, this.#seq - this.capacity + 1, this.#seq - limit + 1, 1);
    const out: QueryLogEntry[] = [];
    for (let s = first; s <= this.#seq; s++) {
      const i = (s - 1) % this.capacity;
      const bytes = this.#answers[i];
      if (!bytes) continue;
      try {
        const { message } = decodeMessage(bytes);
        const q = message.questions[0];
        out.push({
          seq: s,
          at: this.#at[i]!,
          name: q?.name ?? "",
          type: q?.type ?? 0,
          rcode: message.header.rcode,
          answers: message.answers.length,
          latencyMs: this.#latency[i]!,
        });
      } catch {
        // Not readable back: leave it out.
      }
    }
    return out;
  }
}
