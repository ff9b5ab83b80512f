/** Stable error codes (app/errors.py) mapped to what a person reads. */
import type { ErrorCode } from "./api/protocol.gen";

export interface UiError {
  code: ErrorCode | string;
  title: string;
  detail: string;
  /** Whether sending again later may work. */
  retryable: boolean;
  /** Where the person can fix it. */
  action?: { href: string; label: string };
}

const TEXT: Record<ErrorCode, Omit<UiError, "code" | "detail"> & { detail: string }> = {
  input_blocked: {
    title: "Message blocked",
    detail: "This message was blocked by the safety rules and was not sent to Claude. Rephrase it and try again.",
    retryable: false,
  },
  limit_exceeded: {
    title: "Limit reached",
    detail: "Your subscription limit has been reached.",
    retryable: true,
  },
  not_found: { title: "Not found", detail: "This project, session or job no longer exists.", retryable: false },
  bad_request: { title: "Invalid request", detail: "The request was not understood.", retryable: false },
  unauthorized: {
    title: "Signed out",
    detail: "Your sign-in is missing or has expired. Sign in again with a token.",
    retryable: false,
  },
  executor_failed: {
    title: "Could not start Claude",
    detail: "The workspace container could not run Claude Code. Try again in a moment.",
    retryable: true,
  },
  claude_error: { title: "Claude error", detail: "Claude Code reported an error.", retryable: true },
  worker_lost: {
    title: "Worker lost",
    detail: "The worker running this turn stopped unexpectedly. Send the message again.",
    retryable: true,
  },
  worker_shutdown: {
    title: "Worker restarted",
    detail: "The worker was restarted while this turn ran; its usage was kept. Send the message again.",
    retryable: true,
  },
  timeout: {
    title: "Timed out",
    detail: "Claude produced no output for too long, so the turn was stopped.",
    retryable: true,
  },
  conflict: {
    title: "Not now",
    detail: "A turn of this project is running; try again when it has ended.",
    retryable: true,
  },
  unavailable: { title: "Service unavailable", detail: "A backend service is unavailable.", retryable: true },
  internal: { title: "Internal error", detail: "Something went wrong on the server.", retryable: true },
  no_credentials: {
    title: "No Claude credential",
    detail: "Link your Claude subscription token (claude setup-token) or API key in Settings, then send the message again.",
    retryable: false,
    action: { href: "/settings", label: "Open Settings" },
  },
};

/** "in 3 min", "at 14:05" — when a limit resets, from seconds-from-now or a unix time. */
export function describeReset(details: Record<string, unknown>, now: number = Date.now()): string | null {
  const retryAfter = Number(details.retry_after_s ?? details.retry_after ?? NaN);
  const resetsAt = Number(details.resets_at ?? NaN);
  let at: number | null = null;
  if (Number.isFinite(resetsAt) && resetsAt > 0) at = resetsAt * 1000;
  else if (Number.isFinite(retryAfter) && retryAfter >= 0) at = now + retryAfter * 1000;
  if (at === null) return null;
  const seconds = Math.max(0, Math.round((at - now) / 1000));
  if (seconds < 60) return `in ${seconds} s`;
  if (seconds < 3600) return `in ${Math.ceil(seconds / 60)} min`;
  const when = new Date(at);
  const hhmm = when.toISOString().slice(11, 16);
  return seconds < 86_400 ? `at ${hhmm} UTC` : `on ${when.toISOString().slice(0, 10)} ${hhmm} UTC`;
}

/** The UI text for an error code, with the server's message and, for limits, when they reset. */
export function describeError(
  code: string,
  message?: string,
  details: Record<string, unknown> = {},
  now: number = Date.now(),
): UiError {
  const known = TEXT[code as ErrorCode];
  const base = known ?? { title: "Error", detail: "Something went wrong.", retryable: true };
  let detail = base.detail;
  if (code === "limit_exceeded") {
    const reset = describeReset(details, now);
    const what = typeof details.limit === "string" ? ` (${details.limit.replace(/_/g, " ")})` : "";
    detail = `${base.detail.replace(/\.$/, "")}${what}.${reset ? ` It resets ${reset}.` : ""}`;
  }
  if (message && message !== detail && !["input_blocked", "internal", "no_credentials"].includes(code)) {
    detail = `${detail} ${message}`;
  }
  return { code, title: base.title, detail, retryable: base.retryable, ...(base.action ? { action: base.action } : {}) };
}
