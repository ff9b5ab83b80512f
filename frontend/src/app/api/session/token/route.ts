/**
 * The bearer token for the chat socket's subprotocol, read from the httpOnly cookie.
 * A token the API refuses answers 401, so the page signs in again instead of retrying
 * a socket whose handshake the API will keep refusing.
 */
import { cookies } from "next/headers";
import { NextResponse } from "next/server";

import { TOKEN_COOKIE, tokenIsValid } from "@/lib/server/session";

export const dynamic = "force-dynamic";

const unauthorized = (message: string) =>
  NextResponse.json({ code: "unauthorized", message, details: {} }, { status: 401 });

export async function GET(): Promise<NextResponse> {
  const token = (await cookies()).get(TOKEN_COOKIE)?.value;
  if (!token) return unauthorized("Not signed in");
  // an unreachable API is not a verdict on the token: the socket will retry
  const valid = await tokenIsValid(token).catch(() => true);
  if (!valid) return unauthorized("Token refused");
  return NextResponse.json({ token }, { headers: { "cache-control": "no-store" } });
}
