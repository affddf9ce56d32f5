/**
 * The simulator's Jira: issues with a status, served as Jira Cloud (REST v3: POST issue/bulkfetch,
 * GET|POST search/jql; the removed /rest/api/{2,3}/search answer 410 Gone) or as Jira Data Center
 * (REST v2: GET|POST search, issue/{key}). Authentication as the flavour expects: Cloud basic auth
 * (email:API token), Data Center bearer personal access token.
 * Transitions (both flavours, REST v2 and v3): GET issue/{key}/transitions lists those of the
 * workflow leading away from the issue's status; POST issue/{key}/transitions {transition: {id}}
 * answers 204 and moves it, 400 for a transition not available from its status (as Jira says it),
 * 403 when the account may not transition it (`noTransitionPermission`), 404 for an unknown issue.
 */

export interface JiraIssue {
  id: string;
  key: string;
  summary: string;
  status: string;
  statusCategory: "new" | "indeterminate" | "done";
}

export interface JiraAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export type JiraFlavour = "cloud" | "datacenter";

/** A Jira webhook delivery (admin webhook: issue created, updated, deleted). */
export interface JiraWebhook {
  event: "jira:issue_created" | "jira:issue_updated" | "jira:issue_deleted";
  payload: Record<string, unknown>;
}

export class JiraModel {
  readonly issues = new Map<string, JiraIssue>();
  private nextId = 10000;
  flavour: JiraFlavour = "cloud";
  email = "changegate@example.com";
  apiToken = "jira-api-token-0123456789";
  pat = "jira-pat-0123456789abcdef";
  baseUrl = "http://127.0.0.1";
  /** The workflow: every transition, from any status but its target (Jira lists none to the current status here). */
  workflow: { id: string; name: string; to: string }[] = [
    { id: "11", name: "To Do", to: "To Do" },
    { id: "21", name: "Start progress", to: "In Progress" },
    { id: "31", name: "Approve", to: "Approved" },
    { id: "41", name: "Resolve", to: "Done" },
  ];
  /** Issue keys the account may browse but not transition (Jira answers 403). */
  readonly noTransitionPermission = new Set<string>();
  private readonly listeners: ((hook: JiraWebhook) => void)[] = [];

  onWebhook(listener: (hook: JiraWebhook) => void): void {
    this.listeners.push(listener);
  }

  private emit(
    event: JiraWebhook["event"],
    issue: JiraIssue,
    changelog: Record<string, unknown>[] = [],
  ): void {
    const payload = {
      timestamp: Date.now(),
      webhookEvent: event,
      issue_event_type_name:
        event === "jira:issue_updated"
          ? "issue_generic"
          : event === "jira:issue_created"
            ? "issue_created"
            : "issue_deleted",
      user: { accountId: "5b10ac8d82e05b22cc7d4ef5", displayName: "Someone" },
      issue: { ...this.issueJson(issue, null, 2), id: issue.id },
      ...(changelog.length ? { changelog: { id: String(Date.now()), items: changelog } } : {}),
    };
    for (const l of [...this.listeners]) l({ event, payload });
  }

  setIssue(key: string, status: string, summary = `Ticket ${key}`): JiraIssue {
    const prev = this.issues.get(key.toUpperCase());
    const issue: JiraIssue = {
      id: prev?.id ?? String(this.nextId++),
      key: key.toUpperCase(),
      summary,
      status,
      statusCategory: /done|closed|resolved/i.test(status)
        ? "done"
        : /progress|review|approved/i.test(status)
          ? "indeterminate"
          : "new",
    };
    this.issues.set(issue.key, issue);
    if (!prev) this.emit("jira:issue_created", issue);
    else {
      const items = [
        ...(prev.status !== issue.status
          ? [
              {
                field: "status",
                fieldtype: "jira",
                from: "1",
                fromString: prev.status,
                to: "2",
                toString: issue.status,
              },
            ]
          : []),
        ...(prev.summary !== issue.summary
          ? [
              {
                field: "summary",
                fieldtype: "jira",
                from: null,
                fromString: prev.summary,
                to: null,
                toString: issue.summary,
              },
            ]
          : []),
      ];
      this.emit("jira:issue_updated", issue, items);
    }
    return issue;
  }

  deleteIssue(key: string): void {
    const issue = this.issues.get(key.toUpperCase());
    this.issues.delete(key.toUpperCase());
    if (issue) this.emit("jira:issue_deleted", issue);
  }

  /** The credentials changegate must be started with. */
  env(): Record<string, string> {
    return this.flavour === "cloud"
      ? { JIRA_BASE_URL: this.baseUrl, JIRA_EMAIL: this.email, JIRA_API_TOKEN: this.apiToken }
      : { JIRA_BASE_URL: this.baseUrl, JIRA_PAT: this.pat };
  }

  authorized(header: string | undefined): boolean {
    if (!header) return false;
    if (this.flavour === "cloud") {
      const m = /^Basic\s+(.+)$/i.exec(header);
      return !!m && Buffer.from(m[1]!, "base64").toString("utf8") === `${this.email}:${this.apiToken}`;
    }
    const m = /^Bearer\s+(.+)$/i.exec(header);
    return !!m && m[1] === this.pat;
  }

  issueJson(issue: JiraIssue, fields: string[] | null, version: 2 | 3): Record<string, unknown> {
    const all: Record<string, unknown> = {
      summary: issue.summary,
      status: {
        self: `${this.baseUrl}/rest/api/${version}/status/1`,
        name: issue.status,
        id: "1",
        statusCategory: {
          id: 2,
          key: issue.statusCategory,
          name:
            issue.statusCategory === "done"
              ? "Done"
              : issue.statusCategory === "new"
                ? "To Do"
                : "In Progress",
          colorName: "blue-gray",
        },
      },
      issuetype: { name: "Task", subtask: false },
      project: { key: issue.key.split("-")[0], name: issue.key.split("-")[0] },
    };
    const wanted =
      !fields || fields.includes("*all") || fields.includes("*navigable") ? Object.keys(all) : fields;
    const out: Record<string, unknown> = {};
    for (const f of wanted) if (f in all) out[f] = all[f];
    return {
      expand: "renderedFields,names,schema",
      id: issue.id,
      self: `${this.baseUrl}/rest/api/${version}/issue/${issue.id}`,
      key: issue.key,
      fields: out,
    };
  }

  /** Answer one request (the HTTP layer has recorded it and applied faults already). */
  handle(
    method: string,
    path: string,
    query: URLSearchParams,
    body: unknown,
    auth: string | undefined,
  ): JiraAnswer {
    if (!this.authorized(auth)) {
      return {
        status: 401,
        body: {
          errorMessages: ["You are not authenticated. Authentication required to perform this operation."],
          errors: {},
        },
        headers: { "www-authenticate": 'Basic realm="protected-area"' },
      };
    }
    const b = (body && typeof body === "object" ? body : {}) as Record<string, unknown>;
    const cloud = this.flavour === "cloud";
    let m: RegExpExecArray | null;

    if (method === "POST" && path === "/rest/api/3/issue/bulkfetch" && cloud) {
      const keys = b.issueIdsOrKeys;
      if (
        !Array.isArray(keys) ||
        keys.length === 0 ||
        keys.length > 100 ||
        !keys.every((k) => typeof k === "string")
      ) {
        return {
          status: 400,
          body: {
            errorMessages: ["issueIdsOrKeys must contain between 1 and 100 issue ids or keys."],
            errors: {},
          },
        };
      }
      const fields = Array.isArray(b.fields) ? (b.fields as string[]) : null;
      const issues = (keys as string[]).map((k) => this.find(k)).filter((i): i is JiraIssue => !!i);
      return {
        status: 200,
        body: {
          expand: "schema,names",
          issues: issues.map((i) => this.issueJson(i, fields, 3)),
          issueErrors: [],
        },
      };
    }

    if (path === "/rest/api/3/search/jql" && cloud && (method === "GET" || method === "POST")) {
      const jql = String(method === "GET" ? (query.get("jql") ?? "") : (b.jql ?? ""));
      const fieldsRaw = method === "GET" ? query.get("fields") : b.fields;
      const fields =
        fieldsRaw === null || fieldsRaw === undefined
          ? ["id"]
          : Array.isArray(fieldsRaw)
            ? (fieldsRaw as string[])
            : String(fieldsRaw).split(",");
      const max = Number(method === "GET" ? (query.get("maxResults") ?? 50) : (b.maxResults ?? 50));
      const token = String(method === "GET" ? (query.get("nextPageToken") ?? "") : (b.nextPageToken ?? ""));
      const result = this.search(jql, query.get("validateQuery") ?? (b.validateQuery as string | undefined));
      if ("error" in result) return { status: 400, body: { errorMessages: [result.error], errors: {} } };
      const start = token ? Number(Buffer.from(token, "base64").toString("utf8")) : 0;
      const page = result.issues.slice(start, start + Math.min(Math.max(max, 1), 5000));
      const more = start + page.length < result.issues.length;
      // search/jql without `fields` returns only ids.
      const issues = page.map((i) =>
        fields.length === 1 && fields[0] === "id" ? { id: i.id } : this.issueJson(i, fields, 3),
      );
      return {
        status: 200,
        body: {
          issues,
          isLast: !more,
          ...(more ? { nextPageToken: Buffer.from(String(start + page.length)).toString("base64") } : {}),
        },
      };
    }

    if (/^\/rest\/api\/[23]\/search$/.test(path) && (method === "GET" || method === "POST")) {
      if (cloud) {
        return {
          status: 410,
          body: {
            errorMessages: [
              "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046",
            ],
            errors: {},
          },
        };
      }
      if (path.startsWith("/rest/api/3/")) return notFound();
      const jql = String(method === "GET" ? (query.get("jql") ?? "") : (b.jql ?? ""));
      const fieldsRaw = method === "GET" ? query.get("fields") : b.fields;
      const fields =
        fieldsRaw === null || fieldsRaw === undefined
          ? null
          : Array.isArray(fieldsRaw)
            ? (fieldsRaw as string[])
            : String(fieldsRaw).split(",");
      const startAt = Number(method === "GET" ? (query.get("startAt") ?? 0) : (b.startAt ?? 0));
      const max = Number(method === "GET" ? (query.get("maxResults") ?? 50) : (b.maxResults ?? 50));
      const validate =
        method === "GET" ? query.get("validateQuery") : (b.validateQuery as string | boolean | undefined);
      const result = this.search(
        jql,
        validate === false ? "false" : ((validate ?? undefined) as string | undefined),
      );
      if ("error" in result) return { status: 400, body: { errorMessages: [result.error], errors: {} } };
      const page = result.issues.slice(startAt, startAt + max);
      return {
        status: 200,
        body: {
          expand: "schema,names",
          startAt,
          maxResults: max,
          total: result.issues.length,
          issues: page.map((i) => this.issueJson(i, fields, 2)),
        },
      };
    }

    if (
      (m = /^\/rest\/api\/([23])\/issue\/([^/]+)\/transitions$/.exec(path)) &&
      (method === "GET" || method === "POST")
    ) {
      if (m[1] === "3" && !cloud) return notFound();
      return this.transitions(method, decodeURIComponent(m[2]!), b);
    }

    if (method === "GET" && (m = /^\/rest\/api\/([23])\/issue\/([^/]+)$/.exec(path))) {
      const version = Number(m[1]) as 2 | 3;
      if (version === 3 && !cloud) return notFound();
      const issue = this.find(decodeURIComponent(m[2]!));
      if (!issue)
        return {
          status: 404,
          body: {
            errorMessages: ["Issue does not exist or you do not have permission to see it."],
            errors: {},
          },
        };
      const f = query.get("fields");
      return { status: 200, body: this.issueJson(issue, f ? f.split(",") : null, version) };
    }

    if (method === "GET" && /^\/rest\/api\/[23]\/(myself|serverInfo)$/.test(path)) {
      return {
        status: 200,
        body: path.endsWith("myself")
          ? {
              accountId: "5b10a2844c20165700ede21g",
              emailAddress: this.email,
              displayName: "changegate",
              active: true,
            }
          : {
              baseUrl: this.baseUrl,
              version: cloud ? "1001.0.0-SNAPSHOT" : "9.12.0",
              deploymentType: cloud ? "Cloud" : "Server",
            },
      };
    }
    return notFound();
  }

  private transitions(method: string, keyOrId: string, b: Record<string, unknown>): JiraAnswer {
    const issue = this.find(keyOrId);
    if (!issue)
      return {
        status: 404,
        body: {
          errorMessages: ["Issue does not exist or you do not have permission to see it."],
          errors: {},
        },
      };
    const available = this.workflow.filter((t) => t.to.toLowerCase() !== issue.status.toLowerCase());
    if (method === "GET") {
      return {
        status: 200,
        body: {
          expand: "transitions",
          transitions: available.map((t) => ({
            id: t.id,
            name: t.name,
            to: { id: t.id, name: t.to },
            hasScreen: false,
            isGlobal: true,
            isInitial: false,
            isAvailable: true,
            isConditional: false,
            isLooped: false,
          })),
        },
      };
    }
    if (this.noTransitionPermission.has(issue.key)) {
      return {
        status: 403,
        body: { errorMessages: ["You do not have permission to transition this issue."], errors: {} },
      };
    }
    const t = b.transition as { id?: unknown } | undefined;
    if (!t || typeof t !== "object" || (typeof t.id !== "string" && typeof t.id !== "number")) {
      return { status: 400, body: { errorMessages: ["Missing 'transition' identifier"], errors: {} } };
    }
    const pick = available.find((x) => x.id === String(t.id));
    if (!pick)
      return {
        status: 400,
        body: { errorMessages: [`Transition id '${String(t.id)}' is not valid for this issue.`], errors: {} },
      };
    this.setIssue(issue.key, pick.to, issue.summary);
    return { status: 204, body: undefined };
  }

  private find(keyOrId: string): JiraIssue | undefined {
    const k = keyOrId.toUpperCase();
    return this.issues.get(k) ?? [...this.issues.values()].find((i) => i.id === keyOrId);
  }

  /** The JQL changegate can be expected to send: key/issuekey in (...) or = ..., optionally ORDER BY. */
  search(jql: string, validateQuery: string | undefined): { issues: JiraIssue[] } | { error: string } {
    const text = jql.replace(/\s+ORDER\s+BY\s+.*$/i, "").trim();
    const m = /^(?:key|issuekey|issue)\s*(?:in\s*\(([^)]*)\)|=\s*("?[^"\s]+"?))$/i.exec(text);
    if (!m)
      return {
        error: `Error in the JQL Query: the simulator understands only 'key in (...)' queries, got: ${jql}`,
      };
    const keys = (m[1] ?? m[2] ?? "")
      .split(",")
      .map((k) =>
        k
          .trim()
          .replace(/^"(.*)"$/, "$1")
          .replace(/^'(.*)'$/, "$1"),
      )
      .filter(Boolean);
    const strict = validateQuery === undefined || validateQuery === "strict" || validateQuery === "true";
    const found: JiraIssue[] = [];
    for (const k of keys) {
      const issue = this.find(k);
      if (issue) found.push(issue);
      else if (strict)
        return { error: `An issue with key '${k.toUpperCase()}' does not exist for field 'key'.` };
    }
    return { issues: found };
  }
}

function notFound(): JiraAnswer {
  return { status: 404, body: { errorMessages: ["null for uri: not found"], errors: {} } };
}
