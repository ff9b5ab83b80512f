/** The one mapping of a failed HTTP call (REST or a same-origin route) to an `ApiError`. */
import type { components } from "./openapi.gen";

type ErrorCode = components["schemas"]["ErrorCode"];

/** A REST error with the API's stable code (`{code, message, details}`). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode | string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

// for a body without a code (a proxy's HTML page, an empty answer)
const CODE_OF_STATUS: Record<number, ErrorCode> = {
  400: "bad_request",
  401: "unauthorized",
  404: "not_found",
  422: "bad_request",
  429: "limit_exceeded",
  502: "unavailable",
  503: "unavailable",
  504: "unavailable",
};

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Seconds from `now` named by a Retry-After header (delta-seconds or an HTTP date). */
export function retryAfterSeconds(header: string | null, now: number = Date.now()): number | null {
  if (!header?.trim()) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, Math.round((at - now) / 1000));
}

/** The error of a non-2xx response from its parsed body (`unknown`: any JSON, a string, nothing). */
export function apiErrorFrom(response: Response, body: unknown): ApiError {
  const err = isRecord(body) ? body : {};
  const code = typeof err.code === "string" ? err.code : (CODE_OF_STATUS[response.status] ?? "internal");
  const message = typeof err.message === "string" ? err.message : response.statusText || `HTTP ${response.status}`;
  const details = isRecord(err.details) ? { ...err.details } : {};
  const retryAfter = retryAfterSeconds(response.headers.get("retry-after"));
  if (retryAfter !== null) details.retry_after_s = retryAfter;
  return new ApiError(response.status, code, message, details);
}

/** A call that got no response at all. */
export function networkError(cause: unknown): ApiError {
  return new ApiError(0, "unavailable", `Network error: ${String(cause)}`);
}
