// Models: iproute2's lib/json_print.c over lib/json_writer.c: the same print_* calls produce
// either the text form (the format string) or JSON (the key), with json_writer's separators,
// pretty indentation (4 spaces, arrays inline as `[ "a","b" ]`) and final newline, plus the
// text-mode indentation helpers vdpa uses.
// Deviations: none known for the calls vdpa makes.

import type { LineBufferedStdout } from '../io.js';

export class JsonPrint {
  private depth = 0;
  private sep = '';
  private indent = 0;

  constructor(
    private readonly out: LineBufferedStdout,
    /** JSON output (-j); text otherwise. */
    readonly json: boolean,
    /** Pretty JSON (-p). */
    readonly pretty: boolean,
  ) {}

  private put(s: string): void {
    this.out.write(s);
  }

  // ---- json_writer ----------------------------------------------------------------------------

  private eol(): void {
    if (!this.pretty) return;
    this.put(`\n${'    '.repeat(this.depth)}`);
  }

  private eor(): void {
    if (this.sep) this.put(this.sep);
    this.sep = ',';
  }

  private begin(c: string): void {
    this.eor();
    this.put(c);
    this.depth++;
    this.sep = '';
  }

  private end(c: string): void {
    this.depth--;
    if (this.sep) this.eol();
    this.put(c);
    this.sep = ',';
  }

  private quote(s: string): string {
    let r = '"';
    for (const ch of s) {
      const c = ch.codePointAt(0) as number;
      if (ch === '"') r += '\\"';
      else if (ch === '\\') r += '\\\\';
      else if (ch === '\n') r += '\\n';
      else if (ch === '\t') r += '\\t';
      else if (ch === '\r') r += '\\r';
      else if (ch === '\f') r += '\\f';
      else if (ch === '\b') r += '\\b';
      else if (c < 0x20) r += `\\u${c.toString(16).padStart(4, '0')}`;
      else r += ch;
    }
    return `${r}"`;
  }

  private name(key: string): void {
    this.eor();
    this.eol();
    this.sep = '';
    this.put(`${this.quote(key)}:${this.pretty ? ' ' : ''}`);
  }

  private value(raw: string): void {
    this.eor();
    this.put(raw);
  }

  // ---- json_print -----------------------------------------------------------------------------

  openObject(key: string | null): void {
    if (!this.json) return;
    if (key !== null) this.name(key);
    this.begin('{');
  }

  closeObject(): void {
    if (this.json) this.end('}');
  }

  /** open_json_array(PRINT_ANY, name): the name in text mode. */
  openArray(key: string): void {
    if (this.json) {
      this.name(key);
      this.begin('[');
      if (this.pretty) this.put(' ');
    } else {
      this.put(key);
    }
  }

  /** close_json_array(PRINT_JSON, NULL). */
  closeArray(): void {
    if (!this.json) return;
    if (this.pretty && this.sep) this.put(' ');
    this.sep = '';
    this.end(']');
  }

  /** print_string(PRINT_ANY, key, fmt, value); `fmt` has one %s. */
  string(key: string | null, fmt: string, value: string): void {
    if (!this.json) return this.put(fmt.replace('%s', value));
    if (key !== null) this.name(key);
    this.value(this.quote(value));
  }

  /** print_uint / print_u64 (PRINT_ANY); `fmt` has one %u/%d/%lu. */
  uint(key: string | null, fmt: string, value: number | bigint): void {
    if (!this.json) return this.put(fmt.replace(/%(?:l?l?u|d)/, String(value)));
    if (key !== null) this.name(key);
    this.value(String(value));
  }

  /** print_bool (PRINT_ANY). */
  bool(key: string, fmt: string, value: boolean): void {
    if (!this.json) return this.put(fmt.replace('%s', value ? 'true' : 'false'));
    this.name(key);
    this.value(value ? 'true' : 'false');
  }

  /** print_nl(): text only. */
  nl(): void {
    if (!this.json) this.put('\n');
  }

  incIndent(): void {
    this.indent += 2;
  }

  decIndent(): void {
    this.indent -= 2;
  }

  printIndent(): void {
    if (!this.json) this.put(' '.repeat(this.indent));
  }

  /** Text written straight to stdout (printf in the tool). */
  text(s: string): void {
    this.put(s);
  }

  /** delete_json_obj_plain(): json_writer ends with a newline. */
  finish(): void {
    if (this.json) this.put('\n');
  }
}
