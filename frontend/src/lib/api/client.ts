/** Typed calls to the REST API through the same-origin proxy (`/api/...`). */
import type { components } from "./openapi.gen";

type Schemas = components["schemas"];
export type Project = Schemas["ProjectPublic"];
export type Session = Schemas["SessionPublic"];
export type Message = Schemas["MessagePublic"];
export type Job = Schemas["JobPublic"];
export type UsageReport = Schemas["UsageReport"];
export type UsageRow = Schemas["UsageRow"];
export type Limits = Schemas["LimitsPublic"];
export type ChatAccepted = Schemas["ChatAccepted"];
export type ChatCreate = Schemas["ChatCreate"];

/** A REST error with the API's stable code (`{code, message, details}`). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

async function request<T>(path: string, init: RequestInit = {}): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      ...init,
      cache: "no-store",
      headers: { "content-type": "application/json", ...(init.headers ?? {}) },
    });
  } catch (error) {
    throw new ApiError(0, "unavailable", `Network error: ${String(error)}`);
  }
  if (response.status === 204) return undefined as T;
  const body: unknown = await response.json().catch(() => null);
  if (!response.ok) {
    const err = (body ?? {}) as { code?: string; message?: string; details?: Record<string, unknown> };
    const retryAfter = response.headers.get("retry-after");
    const details = { ...(err.details ?? {}), ...(retryAfter ? { retry_after_s: Number(retryAfter) } : {}) };
    throw new ApiError(response.status, err.code ?? "internal", err.message ?? response.statusText, details);
  }
  return body as T;
}

const enc = encodeURIComponent;

export const api = {
  listProjects: () => request<Project[]>("/api/projects"),
  createProject: (name: string) =>
    request<Project>("/api/projects", { method: "POST", body: JSON.stringify({ name }) }),
  getProject: (id: string) => request<Project>(`/api/projects/${enc(id)}`),
  listSessions: (projectId: string) => request<Session[]>(`/api/projects/${enc(projectId)}/sessions`),
  listMessages: (sessionId: string) => request<Message[]>(`/api/sessions/${enc(sessionId)}/messages`),
  getJob: (jobId: string) => request<Job>(`/api/jobs/${enc(jobId)}`),
  cancelJob: (jobId: string) => request<Job>(`/api/jobs/${enc(jobId)}`, { method: "DELETE" }),
  tokenUsage: (projectId: string) => request<UsageReport>(`/api/projects/${enc(projectId)}/token-usage`),
  limits: () => request<Limits>("/api/limits"),
  chat: (projectId: string, body: ChatCreate) =>
    request<ChatAccepted>(`/api/projects/${enc(projectId)}/chat`, { method: "POST", body: JSON.stringify(body) }),
};

/** Where the browser opens the chat socket, from the frontend's runtime config. */
export interface RuntimeConfig {
  wsUrl: string | null;
  apiPort: string;
}

export async function fetchRuntimeConfig(): Promise<RuntimeConfig> {
  return request<RuntimeConfig>("/api/session/config");
}

/** The socket URL for a project: the configured base, or this host at the API's port. */
export function chatSocketUrl(config: RuntimeConfig, projectId: string, location: Location): string {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const base = config.wsUrl ?? `${scheme}://${location.hostname}:${config.apiPort}`;
  return `${base.replace(/\/$/, "")}/ws/chat/${enc(projectId)}`;
}

/** The bearer token, read from the httpOnly cookie by a same-origin route ("" when signed out). */
export async function fetchToken(): Promise<string> {
  try {
    return (await request<{ token: string }>("/api/session/token")).token;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return "";
    throw error;
  }
}
