/**
 * OVSDB's JSON-RPC sends JSON objects back to back on the stream, with no framing. This splits the text as it
 * arrives into whole objects: it counts braces and brackets outside strings, minding escapes, and parses each
 * complete top-level value.
 */
export class JsonStreamSplitter {
  private buffer = '';
  /** Where the scan stopped in `buffer` (all before it is inside the current value). */
  private pos = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;

  /** Feeds a chunk of text; returns every value completed by it. Throws on text that is not JSON. */
  push(chunk: string): unknown[] {
    this.buffer += chunk;
    const out: unknown[] = [];
    const buf = this.buffer;
    let start = 0;
    for (let i = this.pos; i < buf.length; i++) {
      const c = buf.charCodeAt(i);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 0x5c /* \ */) this.escaped = true;
        else if (c === 0x22 /* " */) this.inString = false;
        continue;
      }
      if (c === 0x22) this.inString = true;
      else if (c === 0x7b /* { */ || c === 0x5b /* [ */) this.depth++;
      else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
        this.depth--;
        if (this.depth < 0) throw new Error(`OVSDB stream: unbalanced '${String.fromCharCode(c)}'`);
        if (this.depth === 0) {
          out.push(JSON.parse(buf.slice(start, i + 1)));
          start = i + 1;
        }
      } else if (this.depth === 0) {
        if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) start = i + 1;
        else throw new Error(`OVSDB stream: unexpected '${String.fromCharCode(c)}' between messages`);
      }
    }
    this.buffer = buf.slice(start);
    this.pos = this.buffer.length;
    return out;
  }

  reset(): void {
    this.buffer = '';
    this.pos = 0;
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
  }
}
