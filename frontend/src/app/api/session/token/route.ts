/**
 * The bearer token for the chat socket's subprotocol, read from the httpOnly cookie.
 * A token the API refuses answers 401, so the page signs in again instead of retrying
 * a socket whose handshake the API will keep refusing.
 */
import { cookies } from "next/headers";
import { NextResponse } from "next/server";

import type { SessionToken } from "@/lib/api/same-origin";
import { errorResponse, TOKEN_COOKIE, tokenIsValid } from "@/lib/server/session";

export const dynamic = "force-dynamic";

export async function GET(): Promise<NextResponse> {
  const token = (await cookies()).get(TOKEN_COOKIE)?.value;
  if (!token) return errorResponse(401, "unauthorized", "Not signed in");
  // an unreachable API is not a verdict on the token: the socket will retry
  const valid = await tokenIsValid(token).catch(() => true);
  if (!valid) return errorResponse(401, "unauthorized", "Token refused");
  return NextResponse.json<SessionToken>({ token }, { headers: { "cache-control": "no-store" } });
}
