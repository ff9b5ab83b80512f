/**
 * Sign in: a pasted token (checked against the API) or a one-time code from the run
 * command's link (redeemed at the API), kept in an httpOnly cookie. Only a JSON POST from
 * this UI's own Origin: another site can neither sign a browser in nor out.
 */
import { NextResponse, type NextRequest } from "next/server";

import { isRecord } from "@/lib/api/api-error";
import { errorResponse, redeemCode, refuseCrossSite, setTokenCookie, tokenIsValid } from "@/lib/server/session";

export const dynamic = "force-dynamic";

const MAX_BODY_BYTES = 16 * 1024; // a token or a code

export async function POST(request: NextRequest): Promise<NextResponse> {
  const refused = refuseCrossSite(request, { json: true });
  if (refused) return refused;
  const length = Number(request.headers.get("content-length") ?? NaN);
  if (!(length <= MAX_BODY_BYTES)) {
    return errorResponse(413, "bad_request", `Send at most ${MAX_BODY_BYTES} bytes, with a Content-Length.`);
  }
  const body: unknown = await request.json().catch(() => null);
  const field = (name: string) => (isRecord(body) && typeof body[name] === "string" ? body[name].trim() : "");
  const code = field("code");
  let token = field("token");
  if (!token && !code) {
    return errorResponse(400, "bad_request", "Paste a token.");
  }
  try {
    if (code) {
      const redeemed = await redeemCode(code);
      if (!("token" in redeemed)) return errorResponse(redeemed.status, "unauthorized", redeemed.message);
      token = redeemed.token;
    } else if (!(await tokenIsValid(token))) {
      return errorResponse(401, "unauthorized", "This token was refused.");
    }
  } catch {
    return errorResponse(503, "unavailable", "The API is not reachable.");
  }
  const response = NextResponse.json({ ok: true }, { headers: { "cache-control": "no-store" } });
  setTokenCookie(response, token, request.nextUrl.protocol === "https:");
  return response;
}
