/**
 * The UI's browser-facing rules: which Origins may change the session or call the API
 * through the proxy, and the Content Security Policy of every page. Pure functions of the
 * request's headers and the environment, so they are unit-tested.
 */

/** The origins the UI answers on: the request's own (its Host) plus `WX_CORS_ORIGINS`. */
export function allowedOrigins(host: string | null, protocol: string, configured: string | undefined): Set<string> {
  const origins = new Set<string>(parseOrigins(configured));
  if (host) origins.add(`${protocol.replace(/:$/, "")}://${host}`.toLowerCase());
  return origins;
}

/** `WX_CORS_ORIGINS`: a JSON list (the API's format) or comma-separated origins. */
export function parseOrigins(configured: string | undefined): string[] {
  const text = (configured ?? "").trim();
  if (!text) return [];
  let items: unknown = null;
  if (text.startsWith("[")) {
    try {
      items = JSON.parse(text);
    } catch {
      items = null;
    }
  }
  const list = Array.isArray(items) ? items : text.split(",");
  return list.filter((item): item is string => typeof item === "string" && item.trim() !== "").map((item) => item.trim().replace(/\/$/, "").toLowerCase());
}

/** Why a state-changing request is refused (null: it may go on). Browsers send `Origin`
 * on every POST/PUT/PATCH/DELETE, so a missing one is not a page of this UI either. */
export function crossSiteRefusal(origin: string | null, allowed: Set<string>): string | null {
  if (!origin) return "A request without an Origin header cannot change the session.";
  if (!allowed.has(origin.toLowerCase())) return "Requests from another site are refused.";
  return null;
}

/** Whether a Content-Type header is JSON (`application/json`, parameters allowed). */
export function isJsonContentType(contentType: string | null): boolean {
  return (contentType ?? "").split(";")[0].trim().toLowerCase() === "application/json";
}

/** The hostname of a Host header (`127.0.0.1:3000` → `127.0.0.1`, `[::1]:3000` → `::1`). */
export function hostnameOf(host: string | null): string | null {
  if (!host) return null;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(host);
  if (bracketed) return bracketed[1];
  return host.replace(/:\d+$/, "") || null;
}

/** The socket origins the page may connect to: `WX_PUBLIC_WS_URL`'s, else this host's at the API's port. */
export function socketSources(publicWsUrl: string | null, hostname: string, apiPort: string): string[] {
  if (publicWsUrl) {
    try {
      const url = new URL(publicWsUrl);
      return [`${url.protocol}//${url.host}`];
    } catch {
      return [];
    }
  }
  const host = hostname.includes(":") && !hostname.startsWith("[") ? `[${hostname}]` : hostname;
  return [`ws://${host}:${apiPort}`, `wss://${host}:${apiPort}`];
}

/** A page's policy: scripts only with this request's nonce (Next adds it to its own),
 * no framing, no plugins, forms and sockets only to this UI and the chat socket. */
export function contentSecurityPolicy(nonce: string, sockets: string[], dev: boolean): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${dev ? " 'unsafe-eval'" : ""}`,
    // React and recharts set style attributes; styles cannot run code
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    `connect-src 'self' ${sockets.join(" ")}`.trim(),
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** A fresh nonce (128 random bits, base64). */
export function newNonce(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return btoa(String.fromCharCode(...bytes));
}
