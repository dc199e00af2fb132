import { createInterface, type Interface } from 'node:readline';
import { CliError } from './errors.ts';

/**
 * Asks for what `aster login` was not given. At a terminal it asks on stderr (a password without echo);
 * otherwise it reads the answers from stdin, one a line, so that a script can pipe them in.
 */
export class Prompter {
  private lines: AsyncIterator<string> | null = null;
  private reader: Interface | null = null;

  constructor(
    /** The error for an answer stdin does not have. */
    private readonly missing: (what: string) => Error,
    private readonly input: NodeJS.ReadStream = process.stdin,
    private readonly output: NodeJS.WriteStream = process.stderr,
  ) {}

  get interactive(): boolean {
    return this.input.isTTY === true;
  }

  async ask(question: string, what: string): Promise<string> {
    if (!this.interactive) return this.nextLine(what);
    const reader = createInterface({ input: this.input, output: this.output, terminal: true });
    try {
      return await new Promise<string>((resolve) => reader.question(question, (answer) => resolve(answer.trim())));
    } finally {
      reader.close();
    }
  }

  /** Reads without echo at a terminal. */
  async secret(question: string, what: string): Promise<string> {
    if (!this.interactive) return this.nextLine(what);
    const input = this.input;
    this.output.write(question);
    input.setRawMode(true);
    input.resume();
    input.setEncoding('utf8');
    try {
      return await new Promise<string>((resolve, reject) => {
        let typed = '';
        const onData = (chunk: string) => {
          for (const ch of chunk) {
            if (ch === '\r' || ch === '\n' || ch === '\u0004') {
              input.off('data', onData);
              return resolve(typed);
            }
            if (ch === '\u0003') {
              input.off('data', onData);
              return reject(new CliError('Interrupted'));
            }
            typed = ch === '\u007f' || ch === '\b' ? typed.slice(0, -1) : typed + ch;
          }
        };
        input.on('data', onData);
      });
    } finally {
      input.setRawMode(false);
      input.pause();
      this.output.write('\n');
    }
  }

  close(): void {
    this.reader?.close();
  }

  private async nextLine(what: string): Promise<string> {
    if (!this.lines) {
      this.reader = createInterface({ input: this.input, terminal: false });
      this.lines = this.reader[Symbol.asyncIterator]();
    }
    const next = await this.lines.next();
    if (next.done) throw this.missing(what);
    return next.value.trim();
  }
}
