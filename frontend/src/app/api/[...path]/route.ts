/**
 * Proxy of the REST API: `/api/<path>` → `${WX_API_URL}/api/<path>`, with the bearer
 * token from the httpOnly cookie. Bodies stream both ways, so SSE passes unbuffered.
 * A request that changes something must come from this UI's own Origin: the cookie is
 * the caller's credential, so another site must not be able to spend it.
 */
import { type NextRequest } from "next/server";

import { apiBaseUrl, errorResponse, refuseCrossSite, TOKEN_COOKIE } from "@/lib/server/session";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

// hop-by-hop headers, and the ones fetch rewrites (it decompresses bodies)
const DROP_REQUEST = new Set(["host", "connection", "cookie", "authorization", "content-length", "accept-encoding"]);
const DROP_RESPONSE = new Set(["connection", "keep-alive", "transfer-encoding", "content-encoding", "content-length"]);

type Params = { params: Promise<{ path: string[] }> };

async function forward(request: NextRequest, { params }: Params): Promise<Response> {
  const hasBody = !["GET", "HEAD"].includes(request.method);
  const refused = hasBody ? refuseCrossSite(request) : null;
  if (refused) return refused;
  const { path } = await params;
  const target = `${apiBaseUrl()}/api/${path.map(encodeURIComponent).join("/")}${request.nextUrl.search}`;
  const headers = new Headers();
  request.headers.forEach((value, key) => {
    if (!DROP_REQUEST.has(key.toLowerCase())) headers.set(key, value);
  });
  const token = request.cookies.get(TOKEN_COOKIE)?.value;
  if (token) headers.set("authorization", `Bearer ${token}`);
  let upstream: Response;
  try {
    upstream = await fetch(target, {
      method: request.method,
      headers,
      body: hasBody ? request.body : undefined,
      redirect: "manual",
      cache: "no-store",
      signal: request.signal,
      ...(hasBody ? { duplex: "half" } : {}),
    } as RequestInit);
  } catch {
    return errorResponse(502, "unavailable", "The API is not reachable.");
  }
  const out = new Headers();
  upstream.headers.forEach((value, key) => {
    if (!DROP_RESPONSE.has(key.toLowerCase())) out.set(key, value);
  });
  if (out.get("content-type")?.startsWith("text/event-stream")) {
    out.set("cache-control", "no-cache, no-transform");
    out.set("x-accel-buffering", "no");
  }
  return new Response(upstream.body, { status: upstream.status, statusText: upstream.statusText, headers: out });
}

export const GET = forward;
export const POST = forward;
export const PUT = forward;
export const PATCH = forward;
export const DELETE = forward;
