/**
 * Secrets never reach a comment, a check run or a log line: known secret values are replaced (in
 * the forms they take in JSON logs and URLs too), and so is anything shaped like a token, a
 * password or a private key. Pure: this module never reads the environment. Which values are
 * secret is said by the process edge (src/ops/secrets.ts reads them from the environment and
 * installs them as the default with useSecretSource); callers may also pass them explicitly.
 */

const R = "[REDACTED]";

/** Base64 (not base64url: `-` and `_` end a run), as in PEM bodies. */
const B64 = "[A-Za-z0-9+/]";
/** A line break, raw or JSON-escaped. */
const SEP = String.raw`(?:\r?\n|\\r\\n|\\n)`;
/** A base64 run starts after a non-base64 character or a JSON escape such as `\n`, never mid-run. */
const RUN_START = String.raw`(?:(?<![A-Za-z0-9+/\\])|(?<=\\[nrt]))`;
const RUN_END = "(?![A-Za-z0-9+/=])";

/** Key material has upper case, lower case and digits; hex digests and words do not have all three. */
function keyLike(m: string): boolean {
  const bare = m.replace(new RegExp(SEP, "g"), "");
  return /[A-Z]/.test(bare) && /[a-z]/.test(bare) && /[0-9]/.test(bare);
}

/**
 * A wrapped PEM body. The short last line is key material too when it could not be a word on the
 * next line: 16 characters or more, or holding a digit, `+`, `/` or `=` padding.
 */
function pemBlock(m: string, full: string, sep: string | undefined, tail: string | undefined): string {
  if (!keyLike(full)) return m;
  if (tail === undefined || tail.length >= 16 || /[0-9+/=]/.test(tail)) return R;
  return `${R}${sep}${tail}`;
}

type Rule = [RegExp, (m: string, ...groups: string[]) => string];

const RULES: Rule[] = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g, () => R],
  // A PEM body without its BEGIN line, precisely: (a) two or more lines (raw or JSON-escaped
  // breaks) of 40-76 base64 characters, plus a shorter `=`-padded last line (see pemBlock), or
  // (b) one unbroken run of 100 or more base64 characters; either way the lines hold upper case,
  // lower case and digits. Git shas and sha-256 digests (hex: no upper case, or no lower case) never qualify.
  [
    new RegExp(
      `${RUN_START}(${B64}{40,76}(?:${SEP}${B64}{40,76})+={0,2})(?:(${SEP})(${B64}{1,39}={0,2}))?${RUN_END}`,
      "g",
    ),
    pemBlock,
  ],
  [new RegExp(`${RUN_START}${B64}{100,}={0,2}${RUN_END}`, "g"), (m) => (keyLike(m) ? R : m)],
  [/\bgh[pousr]_[A-Za-z0-9_]{20,}\b/g, () => R], // GitHub tokens
  [/\bgithub_pat_[A-Za-z0-9_]{20,}\b/g, () => R],
  [/\bv1\.[0-9a-f]{40}\b/g, () => R], // legacy installation tokens
  [/\b(Bearer|Basic|token)\s+[A-Za-z0-9._~+/=-]{12,}/gi, () => R], // Authorization header values
  // Credentials in URLs (postgres://user:pass@host, redis://:pass@host): the user may be empty and
  // the password may hold `/`, `:` or `@`, up to the last `@` before whitespace or a quote.
  // (Bounded, so that a long line of `//a:` cannot make this quadratic.)
  [/\/\/[^/\s:@"'<>]{0,256}:[^\s"'<>]{0,512}@/g, () => `//${R}@`],
  // password=…, in query strings and libpq key=value connection strings: a quoted value ('…' with
  // backslash escapes, "…", or JSON-escaped \"…\"), else the value up to whitespace, `&` or a quote.
  // An unterminated quote redacts up to the next whitespace.
  [
    /(?<![A-Za-z0-9_-])([A-Za-z0-9_-]*?(?:password|passwd|pwd|passphrase|secret|token|api[_-]?key))(\s*=\s*)('(?:[^'\\]|\\.){0,512}'|"(?:[^"\\]|\\.){0,512}"|\\"(?:(?!\\")[\s\S]){0,512}\\"|['"][^\s"'<>&]{0,512}|(?:[^\s&"'<>\\]|\\\\|\\(?!"))+)/gi,
    (_m, key, eq) => `${key}${eq}${R}`,
  ],
  [/\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\b/g, () => R], // JWTs
];

let secretSource: () => string[] = () => [];

/** Set where the default list of secret values comes from (the process edge does, once). */
export function useSecretSource(source: () => string[]): void {
  secretSource = source;
}

/** The secret values redact() replaces when it is given none. */
export function knownSecrets(): string[] {
  return secretSource();
}

const MIN_SECRET = 6;
const MIN_LINE = 16;

/**
 * Every form a secret value takes in what we write: as is; JSON-escaped once and twice (log lines,
 * and log lines quoting a JSON body); percent-encoded (URLs); with `\n` escapes turned into line
 * breaks (a PRIVATE_KEY configured on one line) and back; and each long line of a multi-line value
 * on its own (one line of a private key is key material too). Longest first.
 */
export function secretForms(secrets: readonly string[]): string[] {
  const forms = new Set<string>();
  const add = (s: string) => {
    if (s.length >= MIN_SECRET) forms.add(s);
  };
  for (const secret of secrets) {
    const unescaped = secret.replace(/\\r\\n|\\n/g, (m) => (m === "\\n" ? "\n" : "\r\n"));
    for (const s of new Set([secret, unescaped])) {
      add(s);
      const json = JSON.stringify(s).slice(1, -1);
      add(json);
      add(JSON.stringify(json).slice(1, -1));
      try {
        add(encodeURIComponent(s));
      } catch {
        // a lone surrogate cannot be percent-encoded, and so cannot appear in a URL either
      }
      for (const line of s.split(/\r?\n/)) {
        const t = line.trim();
        if (t.length >= MIN_LINE && t !== s && !/^-----(BEGIN|END) /.test(t)) add(t);
      }
    }
  }
  return [...forms].sort((a, b) => b.length - a.length);
}

const formsCache = new WeakMap<readonly string[], string[]>();

export function redact(text: string, secrets: string[] = knownSecrets()): string {
  let forms = formsCache.get(secrets);
  if (!forms) {
    forms = secretForms(secrets);
    formsCache.set(secrets, forms);
  }
  let out = text;
  for (const s of forms) out = out.split(s).join(R);
  for (const [pattern, replace] of RULES)
    out = out.replace(pattern, replace as (m: string, ...rest: unknown[]) => string);
  return out;
}

/** Errors go to the log with secrets scrubbed from message and stack. */
export function redactError(
  err: unknown,
  secrets?: string[],
): { message: string; stack?: string; status?: number } {
  if (!(err instanceof Error)) return { message: redact(String(err), secrets) };
  const status = (err as { status?: number }).status;
  return {
    message: redact(err.message, secrets),
    stack: err.stack ? redact(err.stack, secrets) : undefined,
    ...(status ? { status } : {}),
  };
}
