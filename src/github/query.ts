/** The one GraphQL query behind an evaluation, and the follow-up page queries for long PRs. */

const GIT_ACTOR_FIELDS = `name email user { login }`;

/** Co-authors beyond the first 100 of a commit are read with AUTHORS_PAGE_QUERY (rare). */
const COMMIT_FIELDS = `
  commit {
    id oid messageHeadline message url
    parents { totalCount }
    committer { ${GIT_ACTOR_FIELDS} }
    authors(first: 100) { pageInfo { hasNextPage endCursor } nodes { ${GIT_ACTOR_FIELDS} } }
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
    databaseId name status conclusion detailsUrl startedAt completedAt
    checkSuite { app { databaseId slug } }
  }
  ... on StatusContext { context state targetUrl createdAt creator { __typename login } }`;

const PAGE = `pageInfo { hasNextPage endCursor }`;

/** Other PRs that may share the head commit (its check run is shared with them). */
const SHARED_HEAD_FIELDS = `number state baseRefName headRefOid baseRepository { nameWithOwner }`;

/** The default branch's CODEOWNERS candidates, in GitHub's order (approvals.rules, codeowners: true). */
const CODEOWNERS_FIELDS = `
    codeownersGithub: object(expression: "HEAD:.github/CODEOWNERS") { ... on Blob { text isTruncated byteSize } }
    codeownersRoot: object(expression: "HEAD:CODEOWNERS") { ... on Blob { text isTruncated byteSize } }
    codeownersDocs: object(expression: "HEAD:docs/CODEOWNERS") { ... on Blob { text isTruncated byteSize } }`;

export const EVIDENCE_QUERY = `
query ChangegateEvidence($owner: String!, $name: String!, $number: Int!, $policyExpr: String!, $appId: Int!, $checkName: String!, $readOrg: Boolean!) {
  repository(owner: $owner, name: $name) {
    nameWithOwner
    defaultBranchRef { name }
    policy: object(expression: $policyExpr) { ... on Blob { text isTruncated } }
    ${CODEOWNERS_FIELDS}
    pullRequest(number: $number) {
      id number title body url state isDraft
      author { __typename login }
      baseRefName headRefName headRefOid
      mergedAt mergedBy { login } mergeCommit { oid }
      labels(first: 100) { nodes { name } }
      labelEvents: timelineItems(last: 100, itemTypes: [LABELED_EVENT]) {
        pageInfo { hasPreviousPage }
        nodes { __typename ... on LabeledEvent { createdAt actor { __typename login } label { name } } }
      }
      commits(first: 100) { ${PAGE} nodes { ${COMMIT_FIELDS} } }
      reviews(first: 100) { ${PAGE} nodes { ${REVIEW_FIELDS} } }
      comments(first: 100) { ${PAGE} nodes { ${COMMENT_FIELDS} } }
      changedFiles
      files(first: 100) { totalCount ${PAGE} nodes { path changeType } }
      headRef { associatedPullRequests(first: 100, states: [OPEN]) { pageInfo { hasNextPage } nodes { ${SHARED_HEAD_FIELDS} } } }
      head: commits(last: 1) {
        nodes {
          commit {
            id oid
            statusCheckRollup { contexts(first: 100) { ${PAGE} nodes { ${CONTEXT_FIELDS} } } }
            ownSuites: checkSuites(first: 10, filterBy: { appId: $appId }) {
              nodes { checkRuns(first: 10, filterBy: { checkName: $checkName, checkType: LATEST }) { nodes { databaseId status conclusion title summary } } }
            }
            associatedPullRequests(first: 100) { pageInfo { hasNextPage } nodes { ${SHARED_HEAD_FIELDS} } }
          }
        }
      }
    }
  }
  org: repository(owner: $owner, name: ".github") @include(if: $readOrg) {
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

/** More co-authors of one commit (past the first 100). */
export const AUTHORS_PAGE_QUERY = `
query ChangegateAuthors($id: ID!, $after: String!) {
  node(id: $id) { ... on Commit { page: authors(first: 100, after: $after) { ${PAGE} nodes { ${GIT_ACTOR_FIELDS} } } } }
}`;

/** A file on a repository's default branch (for `_extends`). */
export const FILE_QUERY = `
query ChangegateFile($owner: String!, $name: String!, $expr: String!) {
  repository(owner: $owner, name: $name) { object(expression: $expr) { ... on Blob { text isTruncated } } }
}`;

/** More changed files of a PR (past the first 100; read only when a rule needs them). */
export const FILES_PAGE_QUERY = `
query ChangegateFiles($id: ID!, $after: String!) {
  node(id: $id) { ... on PullRequest { page: files(first: 100, after: $after) { totalCount ${PAGE} nodes { path changeType } } } }
}`;
