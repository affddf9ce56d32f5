// Module hooks for register.js: `./x.js` imports resolve to `./x.ts` when only the .ts exists
// (NodeNext style), and .ts files are transpiled to JavaScript (ES modules) on load.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import ts from "typescript";

export async function resolve(specifier, context, next) {
  if (
    specifier.endsWith(".js") &&
    (specifier.startsWith(".") || specifier.startsWith("/")) &&
    context.parentURL?.endsWith(".ts")
  ) {
    const candidate = new URL(specifier.replace(/\.js$/, ".ts"), context.parentURL);
    const asJs = new URL(specifier, context.parentURL);
    if (!existsSync(fileURLToPath(asJs)) && existsSync(fileURLToPath(candidate)))
      return next(candidate.href, context);
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (!url.endsWith(".ts")) return next(url, context);
  const source = readFileSync(fileURLToPath(url), "utf8");
  const out = ts.transpileModule(source, {
    fileName: fileURLToPath(url),
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      sourceMap: false,
      inlineSourceMap: true,
      isolatedModules: true,
    },
  });
  return { format: "module", source: out.outputText, shortCircuit: true };
}
