/**
 * The one read: everything GitHub knows about one PR in one GraphQL query (github/gather), read
 * again while GitHub still shows an older head than a webhook announced; and the policy, from the
 * files that read carried (plus one read per `_extends`, config/load).
 */
import type { Logger } from "pino";
import { loadPolicy, type LoadResult } from "../config/load.js";
import { gather, readFile, type Gathered } from "../github/gather.js";
import type { GraphqlReader } from "../github/reader.js";
import type { PrRef } from "../refs.js";

export interface ReadOptions {
  appId: number;
  /** The head a webhook announced (null: none): a read showing an older one is read again. */
  expectedHead: string | null;
  /** Waits before each read again (ms). */
  staleHeadBackoffMs: number[];
  sleep(ms: number): Promise<void>;
  log: Logger;
}

/** Gather, and if GitHub still shows an older head than a webhook announced, wait and read again. */
export async function readEvidence(reader: GraphqlReader, ref: PrRef, o: ReadOptions): Promise<Gathered> {
  let gathered = await gather(reader, ref, o.appId);
  for (const wait of o.staleHeadBackoffMs) {
    const pr = gathered.evidence.pr;
    if (!o.expectedHead || pr.headSha === o.expectedHead || pr.state !== "OPEN") break;
    // The announced head is one of the PR's commits but no longer its head: the PR moved on (a newer
    // push), so the read is ahead of the webhook, not behind it.
    if (gathered.evidence.commits.some((c) => c.oid === o.expectedHead)) break;
    o.log.info(
      { expected: o.expectedHead, got: pr.headSha },
      "GitHub's read lags behind the webhook: reading again",
    );
    await o.sleep(wait);
    gathered = await gather(reader, ref, o.appId);
  }
  return gathered;
}

/** The policy from the read's files (`_extends` read as the app reads). */
export function readPolicy(read: Pick<Gathered, "configFiles">, reader: GraphqlReader): Promise<LoadResult> {
  return loadPolicy(read.configFiles, (repo, path) => readFile(reader, repo, path));
}
