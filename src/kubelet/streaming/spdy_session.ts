/**
 * The server side of one SPDY/3.1 connection over any byte carrier (WebSocket binary messages or
 * a raw upgraded socket), as the kubelet's streaming server plays it: the client opens every
 * stream; each SYN_STREAM is answered with a SYN_REPLY (clients wait for it); PINGs are echoed;
 * data, half-closes (FIN) and resets are handed to the user; GOAWAY or the carrier closing ends
 * the session. Frames go out in call order.
 *
 * @module
 */
import type { Duplex } from "node:stream";
import type { WebSocket } from "ws";
import {
  dataFrame,
  FrameReader,
  HeaderCodec,
  pingFrame,
  SPDY,
  streamIdOf,
  synReplyFrame,
  synStreamHeaders,
} from "./spdy.ts";

/** A byte pipe carrying the SPDY stream. */
export interface Carrier {
  send(bytes: Buffer): void;
  close(): void;
  on(handlers: { data(bytes: Buffer): void; error(e: unknown): void; close(): void }): void;
}

export function overWebSocket(ws: WebSocket): Carrier {
  return {
    send: (b) => ws.send(b),
    close: () => ws.close(1000),
    on(h) {
      ws.on("message", (data: Buffer, isBinary: boolean) => {
        if (isBinary) h.data(data);
      });
      ws.on("error", h.error);
      ws.on("close", h.close);
    },
  };
}

export function overSocket(socket: Duplex, head: Buffer): Carrier {
  return {
    send: (b) => {
      if (socket.writable) socket.write(b);
    },
    close: () => socket.end(),
    on(h) {
      if (head.length) queueMicrotask(() => h.data(head));
      socket.on("data", h.data);
      socket.on("error", h.error);
      socket.on("close", h.close);
    },
  };
}

export interface SessionHandlers {
  /** A stream the client opened, with its (lower-cased) headers. */
  stream(id: number, headers: Record<string, string>): void;
  data(id: number, bytes: Buffer): void;
  /** The client will send no more on this stream. */
  halfClose(id: number): void;
  reset(id: number): void;
  closed(): void;
  error(e: unknown): void;
}

export class SpdySession {
  private readonly reader = new FrameReader();
  private readonly codec = new HeaderCodec();
  private out: Promise<void> = Promise.resolve();
  private incoming: Promise<void> = Promise.resolve();
  private open = true;

  constructor(
    private readonly carrier: Carrier,
    private readonly h: SessionHandlers,
  ) {
    carrier.on({
      data: (bytes) => {
        for (const f of this.reader.push(bytes)) {
          this.incoming = this.incoming.then(() => this.onFrame(f)).catch(h.error);
        }
      },
      error: h.error,
      close: () => {
        this.open = false;
        this.codec.close();
        h.closed();
      },
    });
  }

  get isOpen(): boolean {
    return this.open;
  }

  private send(frame: Buffer | Promise<Buffer>): void {
    this.out = this.out
      .then(async () => {
        const bytes = await frame;
        if (this.open) this.carrier.send(bytes);
      })
      .catch(this.h.error);
  }

  write(id: number, bytes: Buffer): void {
    if (bytes.length) this.send(dataFrame(id, bytes));
  }

  /** Half-closes a stream from our side (FIN). */
  finish(id: number): void {
    this.send(dataFrame(id, Buffer.alloc(0), true));
  }

  /** Closes the carrier once every frame written so far has gone out. */
  close(): void {
    this.out = this.out.then(() => this.carrier.close());
  }

  private async onFrame(f: ReturnType<FrameReader["push"]>[number]): Promise<void> {
    if (!f.control) {
      if (f.data.length) this.h.data(f.streamId, f.data);
      if (f.flags & SPDY.flagFin) this.h.halfClose(f.streamId);
      return;
    }
    switch (f.type) {
      case SPDY.synStream: {
        const id = streamIdOf(f.data);
        const headers = await this.codec.decode(synStreamHeaders(f.data));
        this.send(this.codec.encode({}).then((block) => synReplyFrame(id, block)));
        this.h.stream(id, headers);
        if (f.flags & SPDY.flagFin) this.h.halfClose(id);
        return;
      }
      case SPDY.rstStream:
        this.h.reset(streamIdOf(f.data));
        return;
      case SPDY.ping:
        this.send(pingFrame(f.data.readUInt32BE(0)));
        return;
      case SPDY.goaway:
        this.carrier.close();
        return;
      default:
        // SETTINGS, WINDOW_UPDATE, HEADERS: nothing to do (no flow control, as spdystream).
        return;
    }
  }
}
