/**
 * A reader of protobuf text format (the CEL conformance files' format) into a plain tree: every
 * field is an array of its occurrences (scalars as strings, numbers, identifiers, or bytes for
 * quoted strings; messages as trees), `[type.googleapis.com/x.Y] { … }` expansions of `Any` kept
 * under their bracketed name. Enough of the format for the CEL test data; not a general parser.
 *
 * @module
 */

export type TextValue = string | number | bigint | Uint8Array | TextMessage | { ident: string };
export type TextMessage = Map<string, TextValue[]>;

const OCTAL = /^[0-7]{1,3}/;
const HEX = /^[0-9a-fA-F]{1,2}/;

function unescapeBytes(body: string): Uint8Array {
  const out: number[] = [];
  const enc = new TextEncoder();
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    if (c !== "\\") {
      out.push(...enc.encode(c));
      continue;
    }
    const n = body[++i] as string;
    const simple: Record<string, number> = {
      n: 10,
      t: 9,
      r: 13,
      a: 7,
      b: 8,
      f: 12,
      v: 11,
      "\\": 92,
      "'": 39,
      '"': 34,
      "?": 63,
    };
    if (n in simple) out.push(simple[n] as number);
    else if (n === "x" || n === "X") {
      const h = HEX.exec(body.slice(i + 1))?.[0] ?? "";
      out.push(Number.parseInt(h, 16));
      i += h.length;
    } else if (n === "u" || n === "U") {
      const len = n === "u" ? 4 : 8;
      const cp = Number.parseInt(body.slice(i + 1, i + 1 + len), 16);
      out.push(...enc.encode(String.fromCodePoint(cp)));
      i += len;
    } else {
      const o = OCTAL.exec(body.slice(i))?.[0] ?? "";
      out.push(Number.parseInt(o, 8) & 255);
      i += o.length - 1;
    }
  }
  return Uint8Array.from(out);
}

class Reader {
  pos = 0;
  constructor(private readonly text: string) {}

  private skip(): void {
    for (;;) {
      const m = /^(?:\s+|#[^\n]*)/.exec(this.text.slice(this.pos));
      if (!m) return;
      this.pos += m[0].length;
    }
  }

  peek(): string {
    this.skip();
    return this.text[this.pos] ?? "";
  }

  private take(re: RegExp): string | undefined {
    this.skip();
    const m = re.exec(this.text.slice(this.pos));
    if (!m) return undefined;
    this.pos += m[0].length;
    return m[0];
  }

  private expect(s: string): void {
    if (this.take(new RegExp(`^${s.replace(/[[\]{}]/g, "\\$&")}`)) === undefined)
      throw new Error(
        `textproto: expected ${s} at ${this.pos}: ${this.text.slice(this.pos, this.pos + 40)}`,
      );
  }

  message(end: string): TextMessage {
    const msg: TextMessage = new Map();
    while (this.peek() !== end && this.peek() !== "") {
      let name = this.take(/^\[[^\]]+\]/) ?? this.take(/^[A-Za-z_][A-Za-z0-9_]*/);
      if (name === undefined) throw new Error(`textproto: field name expected at ${this.pos}`);
      name = name.replace(/^\[type\.googleapis\.com\//, "[");
      const colon = this.take(/^:/);
      const values: TextValue[] = [];
      if (this.peek() === "[" && colon) {
        this.expect("[");
        while (this.peek() !== "]") {
          values.push(this.value());
          this.take(/^,/);
        }
        this.expect("]");
      } else values.push(this.value());
      msg.set(name, [...(msg.get(name) ?? []), ...values]);
      this.take(/^[,;]/);
    }
    return msg;
  }

  private value(): TextValue {
    const c = this.peek();
    if (c === "{" || c === "<") {
      this.pos++;
      const m = this.message(c === "{" ? "}" : ">");
      this.expect(c === "{" ? "}" : ">");
      return m;
    }
    if (c === '"' || c === "'") {
      const parts: Uint8Array[] = [];
      while (this.peek() === '"' || this.peek() === "'") {
        const q = this.peek();
        const lit = this.take(q === '"' ? /^"(?:[^"\\\n]|\\.)*"/ : /^'(?:[^'\\\n]|\\.)*'/);
        if (lit === undefined) throw new Error(`textproto: bad string at ${this.pos}`);
        parts.push(unescapeBytes(lit.slice(1, -1)));
      }
      return Uint8Array.from(parts.flatMap((p) => [...p]));
    }
    const num = this.take(
      /^-?(?:0x[0-9a-fA-F]+|\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)[fFuU]?/,
    );
    if (num !== undefined) {
      const clean = num.replace(/[fFuU]$/, "");
      if (/^-?(0x)?[0-9a-fA-F]+$/.test(clean) && !/[.eE]/.test(clean.replace(/^-?0x/, "")))
        return BigInt(clean);
      if (/^-?0x/.test(clean)) return BigInt(clean);
      return Number(clean);
    }
    const ident = this.take(/^-?[A-Za-z_][A-Za-z0-9_.]*/);
    if (ident !== undefined) {
      if (/^-?inf(inity)?$/i.test(ident)) return ident.startsWith("-") ? -Infinity : Infinity;
      if (/^nan$/i.test(ident)) return Number.NaN;
      return { ident };
    }
    throw new Error(
      `textproto: value expected at ${this.pos}: ${this.text.slice(this.pos, this.pos + 40)}`,
    );
  }
}

/** Parses a whole text-format message. */
export function parseTextProto(text: string): TextMessage {
  return new Reader(text).message("");
}
