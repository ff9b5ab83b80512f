/**
 * Every page: a Content Security Policy with a fresh nonce (Next adds it to its own
 * scripts), no caching (pages render per request: user data and the nonce), and sign-in
 * first. A token in the URL is never taken: sign-in is a JSON POST (`/login`, or
 * `/signin?code=…` from the run command's one-time link).
 */
import { NextResponse, type NextRequest } from "next/server";

import { contentSecurityPolicy, hostnameOf, newNonce, socketSources } from "@/lib/server/security";
import { apiPort, publicWsUrl, TOKEN_COOKIE } from "@/lib/server/session";

const SIGN_IN_PAGES = new Set(["/login", "/signin"]);

export function proxy(request: NextRequest): NextResponse {
  const url = request.nextUrl;
  if (url.searchParams.has("token")) {
    return redirectTo(url, "/login"); // an old `/?token=` link: dropped, no cookie set
  }
  if (!request.cookies.get(TOKEN_COOKIE)?.value && !SIGN_IN_PAGES.has(url.pathname)) {
    return redirectTo(url, "/login");
  }
  const nonce = newNonce();
  // the socket's host is the one the browser used (chatSocketUrl: location.hostname)
  const hostname = hostnameOf(request.headers.get("host")) ?? url.hostname;
  const policy = contentSecurityPolicy(nonce, socketSources(publicWsUrl(), hostname, apiPort()), process.env.NODE_ENV === "development");
  const requestHeaders = new Headers(request.headers);
  requestHeaders.set("x-nonce", nonce);
  requestHeaders.set("content-security-policy", policy);
  const response = NextResponse.next({ request: { headers: requestHeaders } });
  response.headers.set("content-security-policy", policy);
  response.headers.set("cache-control", "no-store");
  return response;
}

function redirectTo(url: NextRequest["nextUrl"], pathname: string): NextResponse {
  const target = url.clone();
  target.pathname = pathname;
  target.search = "";
  const response = NextResponse.redirect(target);
  response.headers.set("cache-control", "no-store");
  return response;
}

export const config = {
  // pages only: not the API proxy, not static assets
  matcher: ["/((?!api/|_next/|favicon.ico).*)"],
};
