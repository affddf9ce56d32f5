/**
 * `changegate config schema [--out FILE]`: the policy's JSON Schema (config/json-schema.ts), for
 * editors (`# yaml-language-server: $schema=…`). `npm run schema` writes schema/changegate.schema.json
 * with it; test/unit/policy-schema.test.ts fails when the committed file is not current.
 */
import { renameSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import type { CliIo } from "../cli.js";
import { policyJsonSchemaText } from "../config/json-schema.js";

export function configSchemaCommand(io: CliIo, opts: { out?: string }): number {
  const text = policyJsonSchemaText();
  if (opts.out === undefined) {
    io.stdout.write(text);
    return 0;
  }
  const out = resolve(io.cwd, opts.out);
  try {
    writeFileSync(`${out}.tmp`, text);
    renameSync(`${out}.tmp`, out);
  } catch (err) {
    io.stderr.write(
      `changegate: cannot write ${opts.out}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}\n`,
    );
    return 2;
  }
  io.stderr.write(`wrote ${opts.out}\n`);
  return 0;
}
