/** Server-only helpers: the token cookie and where the API is. */
import { NextResponse, type NextRequest } from "next/server";

import type { components } from "@/lib/api/openapi.gen";
import { allowedOrigins, crossSiteRefusal, isJsonContentType } from "@/lib/server/security";

type ErrorBody = components["schemas"]["ErrorBody"];

export const TOKEN_COOKIE = "wx_token";
const WEEK_S = 7 * 24 * 3600;

/** The FastAPI base URL (env `WX_API_URL`). */
export function apiBaseUrl(): string {
  return (process.env.WX_API_URL ?? "http://127.0.0.1:8000").replace(/\/$/, "");
}

/** The socket base the browser should use, when set (env `WX_PUBLIC_WS_URL`). */
export function publicWsUrl(): string | null {
  return process.env.WX_PUBLIC_WS_URL || process.env.NEXT_PUBLIC_WX_WS_URL || null;
}

export function apiPort(): string {
  const url = new URL(apiBaseUrl());
  return url.port || (url.protocol === "https:" ? "443" : "80");
}

/** Keep the token in an httpOnly cookie: page scripts never read it from storage or the URL. */
export function setTokenCookie(response: NextResponse, token: string, secure: boolean): void {
  response.cookies.set(TOKEN_COOKIE, token, {
    httpOnly: true,
    sameSite: "lax",
    secure,
    path: "/",
    maxAge: WEEK_S,
  });
}

export function clearTokenCookie(response: NextResponse): void {
  response.cookies.set(TOKEN_COOKIE, "", { httpOnly: true, sameSite: "lax", path: "/", maxAge: 0 });
}

/** Whether the API accepts this token (any authenticated call answering 2xx). */
export async function tokenIsValid(token: string): Promise<boolean> {
  const response = await fetch(`${apiBaseUrl()}/api/projects`, {
    headers: { authorization: `Bearer ${token}` },
    cache: "no-store",
  });
  return response.ok;
}

/** An error answer in the API's own shape (`{code, message, details}`). */
export function errorResponse(status: number, code: ErrorBody["code"], message: string): NextResponse<ErrorBody> {
  return NextResponse.json<ErrorBody>({ code, message, details: {} }, { status });
}

/** A 403 for a state-changing request from another Origin (or, with `json`, a body that
 * is not JSON: a form or `text/plain` POST another site could send); null when allowed. */
export function refuseCrossSite(request: NextRequest, { json = false } = {}): NextResponse<ErrorBody> | null {
  const allowed = allowedOrigins(request.headers.get("host"), request.nextUrl.protocol, process.env.WX_CORS_ORIGINS);
  const refusal = crossSiteRefusal(request.headers.get("origin"), allowed);
  if (refusal) return errorResponse(403, "unauthorized", refusal);
  if (json && !isJsonContentType(request.headers.get("content-type"))) {
    return errorResponse(403, "unauthorized", "Send the sign-in as JSON (Content-Type: application/json).");
  }
  return null;
}

/** A sign-in code's token from the API (`POST /api/signin/redeem`), or the API's refusal. */
export async function redeemCode(code: string): Promise<{ token: string } | { status: number; message: string }> {
  const response = await fetch(`${apiBaseUrl()}/api/signin/redeem`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ code }),
    cache: "no-store",
  });
  const body: unknown = await response.json().catch(() => null);
  const record = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
  if (response.ok && typeof record.token === "string") return { token: record.token };
  const message = typeof record.message === "string" ? record.message : "This sign-in code was refused.";
  return { status: response.ok ? 502 : response.status, message };
}
