/** Sign in with a pasted token: checked against the API, then kept in an httpOnly cookie. */
import { NextResponse, type NextRequest } from "next/server";

import { setTokenCookie, tokenIsValid } from "@/lib/server/session";

export const dynamic = "force-dynamic";

export async function POST(request: NextRequest): Promise<NextResponse> {
  const body = (await request.json().catch(() => ({}))) as { token?: unknown };
  const token = typeof body.token === "string" ? body.token.trim() : "";
  if (!token) {
    return NextResponse.json({ code: "bad_request", message: "Paste a token.", details: {} }, { status: 400 });
  }
  let valid: boolean;
  try {
    valid = await tokenIsValid(token);
  } catch {
    return NextResponse.json({ code: "unavailable", message: "The API is not reachable.", details: {} }, { status: 503 });
  }
  if (!valid) {
    return NextResponse.json({ code: "unauthorized", message: "This token was refused.", details: {} }, { status: 401 });
  }
  const response = NextResponse.json({ ok: true });
  setTokenCookie(response, token, request.nextUrl.protocol === "https:");
  return response;
}
