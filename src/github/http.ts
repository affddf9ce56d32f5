/**
 * A fetch with a deadline for Probot's Octokit. The deadline starts when the request is actually
 * sent (after Probot's throttling queue), so a long queue of spaced writes is not cut short, but a
 * GitHub that accepts the connection and never answers cannot hold an evaluation (and its PR's
 * lock) forever: the request fails, publishing is retried, then a failure check is attempted.
 */
export function fetchWithTimeout(timeoutMs: number, base: typeof fetch = fetch): typeof fetch {
  return (input, init = {}) => {
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, deadline]) : deadline;
    return base(input, { ...init, signal }).catch((err: unknown) => {
      if (deadline.aborted)
        throw new Error(`GitHub did not answer within ${timeoutMs / 1000} s`, { cause: err });
      throw err;
    });
  };
}
