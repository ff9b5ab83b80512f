/** Sign out: drop the token cookie (only from this UI's own Origin). */
import { NextResponse, type NextRequest } from "next/server";

import { clearTokenCookie, refuseCrossSite } from "@/lib/server/session";

export async function POST(request: NextRequest): Promise<NextResponse> {
  const refused = refuseCrossSite(request);
  if (refused) return refused;
  const response = NextResponse.json({ ok: true });
  clearTokenCookie(response);
  return response;
}
