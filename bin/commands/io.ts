// What a command needs from its surroundings: where to print. Commands return an exit code
// and never call process.exit, so tests can run them in-process.

export interface CommandIo {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: CommandIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** Bad command-line input: printed as `vdpasim: <message>` with the usage, exit status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
