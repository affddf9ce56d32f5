/**
 * `changegate config schema [--out FILE]`: the policy's JSON Schema (config/json-schema.ts), for
 * editors (`# yaml-language-server: $schema=…`). `npm run schema` writes schema/changegate.schema.json
 * with it; test/unit/policy-schema.test.ts fails when the committed file is not current.
 */
import { renameSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { policyJsonSchemaText } from "../config/json-schema.js";
import { EXIT, type CliIo, type SetExit } from "./kit.js";

export function registerConfigSchema(config: Command, io: CliIo, setExit: SetExit): void {
  config
    .command("schema")
    .description("print the policy's JSON Schema (for editors: # yaml-language-server: $schema=…)")
    .option("--out <file>", "write it to this file instead of stdout")
    .action((opts: { out?: string }) => setExit(configSchemaCommand(io, opts)));
}

export function configSchemaCommand(io: CliIo, opts: { out?: string }): number {
  const text = policyJsonSchemaText();
  if (opts.out === undefined) {
    io.stdout.write(text);
    return EXIT.ok;
  }
  const out = resolve(io.cwd, opts.out);
  try {
    writeFileSync(`${out}.tmp`, text);
    renameSync(`${out}.tmp`, out);
  } catch (err) {
    io.stderr.write(
      `changegate: cannot write ${opts.out}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}\n`,
    );
    return EXIT.usage;
  }
  io.stderr.write(`wrote ${opts.out}\n`);
  return EXIT.ok;
}
