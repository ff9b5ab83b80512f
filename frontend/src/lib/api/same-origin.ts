/**
 * The frontend's own routes under `/api/session/*` (not in the OpenAPI document): their
 * bodies, shared with the route handlers, and the calls the page makes to them.
 */
import { ApiError, apiErrorFrom, isRecord, networkError } from "./api-error";

/** `GET /api/session/config`: where the browser opens the chat socket. */
export interface RuntimeConfig {
  wsUrl: string | null;
  apiPort: string;
}

/** `GET /api/session/token`: the bearer token from the httpOnly cookie. */
export interface SessionToken {
  token: string;
}

async function call(path: `/api/session/${string}`, init: RequestInit = {}): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(path, { cache: "no-store", ...init });
  } catch (error) {
    throw networkError(error);
  }
  const body: unknown = await response.json().catch(() => null);
  if (!response.ok) throw apiErrorFrom(response, body);
  return body;
}

function malformed(path: string): ApiError {
  return new ApiError(502, "internal", `Malformed answer from ${path}`);
}

export async function fetchRuntimeConfig(): Promise<RuntimeConfig> {
  const body = await call("/api/session/config");
  const { wsUrl, apiPort } = isRecord(body) ? body : {};
  if (typeof apiPort !== "string" || !(wsUrl === null || typeof wsUrl === "string")) throw malformed("/api/session/config");
  return { wsUrl, apiPort };
}

/** The bearer token ("" when signed out or when the API refuses it). */
export async function fetchToken(): Promise<string> {
  let body: unknown;
  try {
    body = await call("/api/session/token");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return "";
    throw error;
  }
  const token = isRecord(body) ? body.token : undefined;
  if (typeof token !== "string") throw malformed("/api/session/token");
  return token;
}

/** Sign in with a pasted token (kept in an httpOnly cookie); an `ApiError` says why not. */
export async function signIn(token: string): Promise<void> {
  await call("/api/session/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ token }),
  });
}

/** Sign in with the one-time code of a `/signin?code=…` link. */
export async function signInWithCode(code: string): Promise<void> {
  await call("/api/session/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ code }),
  });
}

export async function signOut(): Promise<void> {
  await call("/api/session/logout", { method: "POST" });
}

/** The socket URL for a project: the configured base, or this host at the API's port. */
export function chatSocketUrl(config: RuntimeConfig, projectId: string, location: Pick<Location, "protocol" | "hostname">): string {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const base = config.wsUrl ?? `${scheme}://${location.hostname}:${config.apiPort}`;
  return `${base.replace(/\/$/, "")}/ws/chat/${encodeURIComponent(projectId)}`;
}
