/** Sign out: drop the token cookie. */
import { NextResponse } from "next/server";

import { clearTokenCookie } from "@/lib/server/session";

export async function POST(): Promise<NextResponse> {
  const response = NextResponse.json({ ok: true });
  clearTokenCookie(response);
  return response;
}
