/** An error a command module throws to end the program with a given exit code (src/cli.ts EXIT). */
export class CommandError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** The same codes as src/cli.ts EXIT (kept here so command modules do not import the bin). */
export const CODES = { ok: 0, failed: 1, usage: 2, database: 3 } as const;
