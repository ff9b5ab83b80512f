/**
 * Sign-in by URL: `/?token=…` (printed by the run command) moves the token into the
 * httpOnly cookie and strips it from the URL. Pages without a token go to /login.
 */
import { NextResponse, type NextRequest } from "next/server";

import { setTokenCookie, TOKEN_COOKIE } from "@/lib/server/session";

export function proxy(request: NextRequest): NextResponse {
  const url = request.nextUrl;
  const token = url.searchParams.get("token");
  if (token) {
    const clean = url.clone();
    clean.searchParams.delete("token");
    const response = NextResponse.redirect(clean);
    setTokenCookie(response, token, url.protocol === "https:");
    return response;
  }
  if (!request.cookies.get(TOKEN_COOKIE)?.value && url.pathname !== "/login") {
    const login = url.clone();
    login.pathname = "/login";
    login.search = "";
    return NextResponse.redirect(login);
  }
  return NextResponse.next();
}

export const config = {
  // pages only: not the API proxy, not static assets
  matcher: ["/((?!api/|_next/|favicon.ico).*)"],
};
