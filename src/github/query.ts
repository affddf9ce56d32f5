/** The one GraphQL query behind an evaluation, and the follow-up page queries for long PRs. */

const COMMIT_FIELDS = `
  commit {
    oid messageHeadline message url
    parents { totalCount }
    committer { user { login } }
    authors(first: 10) { nodes { user { login } } }
  }`;

const REVIEW_FIELDS = `
  author { __typename login }
  state submittedAt url
  commit { oid }
  authorCanPushToRepository`;

const COMMENT_FIELDS = `databaseId body viewerDidAuthor`;

const CONTEXT_FIELDS = `
  __typename
  ... on CheckRun {
    databaseId name status conclusion detailsUrl startedAt
    checkSuite { app { databaseId slug } }
  }
  ... on StatusContext { context state targetUrl creator { __typename login } }`;

const PAGE = `pageInfo { hasNextPage endCursor }`;

export const EVIDENCE_QUERY = `
query ChangegateEvidence($owner: String!, $name: String!, $number: Int!, $policyExpr: String!, $appId: Int!, $checkName: String!) {
  repository(owner: $owner, name: $name) {
    nameWithOwner
    defaultBranchRef { name }
    policy: object(expression: $policyExpr) { ... on Blob { text isTruncated } }
    pullRequest(number: $number) {
      id number title body url state isDraft
      author { __typename login }
      baseRefName headRefName headRefOid
      mergedAt mergedBy { login } mergeCommit { oid }
      labels(first: 100) { nodes { name } }
      commits(first: 100) { ${PAGE} nodes { ${COMMIT_FIELDS} } }
      reviews(first: 100) { ${PAGE} nodes { ${REVIEW_FIELDS} } }
      comments(first: 100) { ${PAGE} nodes { ${COMMENT_FIELDS} } }
      head: commits(last: 1) {
        nodes {
          commit {
            id oid
            statusCheckRollup { contexts(first: 100) { ${PAGE} nodes { ${CONTEXT_FIELDS} } } }
            ownSuites: checkSuites(first: 10, filterBy: { appId: $appId }) {
              nodes { checkRuns(first: 10, filterBy: { checkName: $checkName }) { nodes { databaseId status conclusion title summary } } }
            }
          }
        }
      }
    }
  }
  org: repository(owner: $owner, name: ".github") {
    policy: object(expression: $policyExpr) { ... on Blob { text isTruncated } }
  }
}`;

/** Next page of one of the PR's connections. */
export function prPageQuery(connection: "commits" | "reviews" | "comments"): string {
  const fields = { commits: COMMIT_FIELDS, reviews: REVIEW_FIELDS, comments: COMMENT_FIELDS }[connection];
  return `
query ChangegatePage($id: ID!, $after: String!) {
  node(id: $id) { ... on PullRequest { page: ${connection}(first: 100, after: $after) { ${PAGE} nodes { ${fields} } } } }
}`;
}

export const CONTEXTS_PAGE_QUERY = `
query ChangegateContexts($id: ID!, $after: String!) {
  node(id: $id) { ... on Commit { statusCheckRollup { page: contexts(first: 100, after: $after) { ${PAGE} nodes { ${CONTEXT_FIELDS} } } } } }
}`;

/** A file on a repository's default branch (for `_extends`). */
export const FILE_QUERY = `
query ChangegateFile($owner: String!, $name: String!, $expr: String!) {
  repository(owner: $owner, name: $name) { object(expression: $expr) { ... on Blob { text isTruncated } } }
}`;
