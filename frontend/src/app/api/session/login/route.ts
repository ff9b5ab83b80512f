/** Sign in with a pasted token: checked against the API, then kept in an httpOnly cookie. */
import { NextResponse, type NextRequest } from "next/server";

import { isRecord } from "@/lib/api/api-error";
import { errorResponse, setTokenCookie, tokenIsValid } from "@/lib/server/session";

export const dynamic = "force-dynamic";

export async function POST(request: NextRequest): Promise<NextResponse> {
  const body: unknown = await request.json().catch(() => null);
  const token = isRecord(body) && typeof body.token === "string" ? body.token.trim() : "";
  if (!token) {
    return errorResponse(400, "bad_request", "Paste a token.");
  }
  let valid: boolean;
  try {
    valid = await tokenIsValid(token);
  } catch {
    return errorResponse(503, "unavailable", "The API is not reachable.");
  }
  if (!valid) {
    return errorResponse(401, "unauthorized", "This token was refused.");
  }
  const response = NextResponse.json({ ok: true });
  setTokenCookie(response, token, request.nextUrl.protocol === "https:");
  return response;
}
