import { describe, expect, it } from "vitest";

import { allowedOrigins, contentSecurityPolicy, crossSiteRefusal, hostnameOf, isJsonContentType, newNonce, parseOrigins, socketSources } from "./security";

describe("origins", () => {
  it("allows the request's own origin and the configured ones", () => {
    const allowed = allowedOrigins("127.0.0.1:3000", "http:", '["https://wx.example.com/"]');
    expect([...allowed].sort()).toEqual(["http://127.0.0.1:3000", "https://wx.example.com"]);
    expect(crossSiteRefusal("http://127.0.0.1:3000", allowed)).toBeNull();
    expect(crossSiteRefusal("https://WX.example.com", allowed)).toBeNull();
  });

  it("refuses another site, another port and a missing Origin", () => {
    const allowed = allowedOrigins("127.0.0.1:3000", "http:", undefined);
    expect(crossSiteRefusal("http://evil.example", allowed)).toMatch(/another site/);
    expect(crossSiteRefusal("http://127.0.0.1:8787", allowed)).toMatch(/another site/);
    expect(crossSiteRefusal("null", allowed)).toMatch(/another site/);
    expect(crossSiteRefusal(null, allowed)).toMatch(/without an Origin/);
  });

  it("reads comma-separated origins too", () => {
    expect(parseOrigins("https://a.example, https://b.example")).toEqual(["https://a.example", "https://b.example"]);
    expect(parseOrigins("")).toEqual([]);
  });
});

describe("content types", () => {
  it("accepts JSON only", () => {
    expect(isJsonContentType("application/json; charset=utf-8")).toBe(true);
    expect(isJsonContentType("text/plain")).toBe(false);
    expect(isJsonContentType("application/x-www-form-urlencoded")).toBe(false);
    expect(isJsonContentType(null)).toBe(false);
  });
});

describe("content security policy", () => {
  it("allows scripts by nonce only, no framing, the chat socket", () => {
    const policy = contentSecurityPolicy("abc", socketSources(null, "127.0.0.1", "8000"), false);
    expect(policy).toContain("script-src 'self' 'nonce-abc' 'strict-dynamic'");
    expect(policy).not.toContain("unsafe-eval");
    expect(policy).toContain("frame-ancestors 'none'");
    expect(policy).toContain("connect-src 'self' ws://127.0.0.1:8000 wss://127.0.0.1:8000");
  });

  it("takes the hostname the browser used from the Host header", () => {
    expect(hostnameOf("127.0.0.1:3000")).toBe("127.0.0.1");
    expect(hostnameOf("[::1]:3000")).toBe("::1");
    expect(hostnameOf("ui.example.com")).toBe("ui.example.com");
    expect(socketSources(null, "::1", "8000")).toEqual(["ws://[::1]:8000", "wss://[::1]:8000"]);
  });

  it("uses the public socket URL's origin when set", () => {
    expect(socketSources("wss://api.example.com/base", "ui.example.com", "443")).toEqual(["wss://api.example.com"]);
  });

  it("makes a new nonce each time", () => {
    expect(newNonce()).not.toEqual(newNonce());
    expect(newNonce()).toMatch(/^[A-Za-z0-9+/]{22}==$/);
  });
});
