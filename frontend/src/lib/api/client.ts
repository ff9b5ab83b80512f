/** Typed calls to the REST API through the same-origin proxy (`/api/...`), over the generated paths. */
import createClient from "openapi-fetch";

import { ApiError, apiErrorFrom, networkError } from "./api-error";
import type { components, paths } from "./openapi.gen";

export { ApiError };

type Schemas = components["schemas"];
export type Project = Schemas["ProjectPublic"];
export type Session = Schemas["SessionPublic"];
export type Message = Schemas["MessagePublic"];
export type UsageReport = Schemas["UsageReport"];
export type UsageRow = Schemas["UsageRow"];
export type Limits = Schemas["LimitsPublic"];
export type FileTree = Schemas["FileTree"];
export type FileEntry = Schemas["FileEntry"];
export type FileContent = Schemas["FileContent"];
export type TurnChanges = Schemas["TurnChanges"];
export type FileDiff = Schemas["FileDiff"];
export type RevertResult = Schemas["RevertResult"];
export type Credential = Schemas["CredentialPublic"];

/** What openapi-fetch resolves to: the success body or the error body, and the response. */
interface Outcome<Data, Err> {
  data?: Data;
  error?: Err;
  response: Response;
}

/** The body of a 2xx answer; any other answer (or no body, or no answer) as an `ApiError`. */
async function unwrap<Data, Err>(call: Promise<Outcome<Data, Err>>): Promise<Data> {
  let outcome: Outcome<Data, Err>;
  try {
    outcome = await call;
  } catch (error) {
    throw networkError(error);
  }
  const { data, error, response } = outcome;
  if (error !== undefined || !response.ok || data === undefined) throw apiErrorFrom(response, error);
  return data;
}

interface ApiOptions {
  /** Where `/api/...` lives: "" (this page's origin) in the browser; absolute in tests. */
  baseUrl?: string;
  fetch?: (request: Request) => Promise<Response>;
}

/** The REST API's calls the UI makes. */
export function createApi({ baseUrl = "", fetch }: ApiOptions = {}) {
  const client = createClient<paths>({ baseUrl, fetch, cache: "no-store" });
  const project = (projectId: string) => ({ params: { path: { project_id: projectId } } });
  return {
    listProjects: () => unwrap(client.GET("/api/projects")),
    createProject: (name: string) => unwrap(client.POST("/api/projects", { body: { name } })),
    listSessions: (projectId: string) => unwrap(client.GET("/api/projects/{project_id}/sessions", project(projectId))),
    listMessages: (sessionId: string) =>
      unwrap(client.GET("/api/sessions/{session_id}/messages", { params: { path: { session_id: sessionId } } })),
    getJob: (jobId: string) => unwrap(client.GET("/api/jobs/{job_id}", { params: { path: { job_id: jobId } } })),
    cancelJob: (jobId: string) => unwrap(client.DELETE("/api/jobs/{job_id}", { params: { path: { job_id: jobId } } })),
    /** Queue a turn: `sessionId` continues that session, null starts a new one. */
    chat: (projectId: string, content: string, context: Schemas["ChatCreate"]["context"], sessionId: string | null) =>
      unwrap(
        client.POST("/api/projects/{project_id}/chat", {
          ...project(projectId),
          body: { content, context, session_id: sessionId },
        }),
      ),
    tokenUsage: (projectId: string) => unwrap(client.GET("/api/projects/{project_id}/token-usage", project(projectId))),
    limits: () => unwrap(client.GET("/api/limits")),
    listFiles: (projectId: string, path = "") =>
      unwrap(client.GET("/api/projects/{project_id}/files", { params: { path: { project_id: projectId }, query: { path } } })),
    readFile: (projectId: string, path: string) =>
      unwrap(client.GET("/api/projects/{project_id}/files/{path}", { params: { path: { project_id: projectId, path } } })),
    jobChanges: (jobId: string) => unwrap(client.GET("/api/jobs/{job_id}/changes", { params: { path: { job_id: jobId } } })),
    revertJob: (jobId: string) => unwrap(client.POST("/api/jobs/{job_id}/revert", { params: { path: { job_id: jobId } } })),
    /** The tenant's own Claude credential: whether one is linked (never its value), link, remove. */
    getCredential: () => unwrap(client.GET("/api/credentials/claude")),
    setCredential: (kind: Schemas["CredentialKind"], value: string) =>
      unwrap(client.PUT("/api/credentials/claude", { body: { kind, value } })),
    /** Resolves once none is linked (a 404: there was none). */
    deleteCredential: async (): Promise<void> => {
      let outcome: Outcome<unknown, unknown>;
      try {
        outcome = await client.DELETE("/api/credentials/claude");
      } catch (error) {
        throw networkError(error);
      }
      const { response, error } = outcome;
      if (!response.ok && response.status !== 404) throw apiErrorFrom(response, error);
    },
  };
}

export type Api = ReturnType<typeof createApi>;

export const api: Api = createApi();
