/**
 * Parses a JSON list response (`{…,"items":[{…},{…}],…}`) as its bytes arrive, one item at a
 * time, so a list of 150,000 pods (~450 MB of JSON) never becomes one string: V8 cannot build a
 * string longer than ~512 MiB, and one `JSON.parse` of a few hundred MB holds the text, its
 * buffer and the objects at once.
 *
 * Contract:
 * - `push` takes the body's chunks in order, split anywhere (even inside a UTF-8 character: item
 *   and envelope boundaries fall on ASCII bytes, and each item is decoded whole). `end` returns
 *   what `JSON.parse` of the whole body would, or throws a SyntaxError for a truncated or
 *   malformed body.
 * - Only the top-level member named `items` is split; it must be an array of objects (as every
 *   Kubernetes list's is), otherwise `push` throws. Everything else (the envelope) is kept as
 *   bytes and parsed at the end, with the items put back in place.
 * - Memory held between chunks: the envelope, the parsed items, and the bytes of the one item
 *   being read.
 *
 * @module
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

export class ListParser {
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Bytes of the string being read at depth 1 (a key or an envelope value), else undefined. */
  private text: number[] | undefined;
  private lastText = "";
  private key = "";
  private inItems = false;
  private sawItems = false;
  private itemOpen = false;
  private readonly itemParts: Buffer[] = [];
  private readonly envelope: Buffer[] = [];
  private readonly items: unknown[] = [];

  push(chunk: Buffer): void {
    let envStart = this.inItems ? -1 : 0;
    let itemStart = this.itemOpen ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i] as number;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) {
          this.inString = false;
          if (this.text) {
            this.lastText = Buffer.from(this.text).toString("utf8");
            this.text = undefined;
          }
          continue;
        }
        this.text?.push(c);
        continue;
      }
      if (this.inItems && this.depth === 2 && !this.itemOpen) {
        // Between items: only whitespace, commas, the next object, or the closing bracket.
        if (isSpace(c) || c === COMMA) continue;
        if (c === LBRACE) {
          this.itemOpen = true;
          itemStart = i;
        } else if (c !== RBRACKET) {
          throw new SyntaxError("list items must be JSON objects");
        }
      }
      switch (c) {
        case QUOTE:
          this.inString = true;
          if (this.depth === 1) this.text = [];
          break;
        case COLON:
          if (this.depth === 1) this.key = this.lastText;
          break;
        case LBRACE:
        case LBRACKET:
          this.depth++;
          if (c === LBRACKET && this.depth === 2 && this.key === "items" && !this.sawItems) {
            this.inItems = true;
            this.sawItems = true;
            this.envelope.push(chunk.subarray(envStart, i + 1));
            envStart = -1;
          }
          break;
        case RBRACE:
        case RBRACKET:
          this.depth--;
          if (this.inItems && this.depth === 2 && this.itemOpen) {
            this.itemParts.push(chunk.subarray(itemStart, i + 1));
            this.finishItem();
            itemStart = -1;
          } else if (this.inItems && this.depth === 1) {
            this.inItems = false;
            envStart = i;
          }
          break;
      }
    }
    if (envStart >= 0) this.envelope.push(chunk.subarray(envStart));
    if (this.itemOpen && itemStart >= 0) this.itemParts.push(chunk.subarray(itemStart));
  }

  end(): unknown {
    if (this.depth !== 0 || this.inString) throw new SyntaxError("truncated JSON list");
    const body = JSON.parse(Buffer.concat(this.envelope).toString("utf8")) as Record<
      string,
      unknown
    >;
    if (this.sawItems) body["items"] = this.items;
    return body;
  }

  private finishItem(): void {
    const parts = this.itemParts;
    const bytes = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
    this.items.push(JSON.parse(bytes.toString("utf8")));
    parts.length = 0;
    this.itemOpen = false;
  }
}
