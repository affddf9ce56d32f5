/** An error a CLI command module throws with the exit code it means (see EXIT in src/cli.ts). */
export class CommandError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** Wrap a usage problem (exit 2). */
export const usage = (message: string): CommandError => new CommandError(2, message);
