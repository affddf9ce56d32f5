export interface LeftOut {
  suite: string;
  tool: string;
  install: string;
}
export function recordLeftOut(entry: LeftOut, env?: Record<string, string | undefined>): void;
export function takeLeftOut(env?: Record<string, string | undefined>): LeftOut[];
