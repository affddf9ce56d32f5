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

/** The same codes as src/cli.ts EXIT (kept here so command modules do not import the bin). */
export const CODES = { ok: 0, failed: 1, usage: 2, database: 3 } as const;
