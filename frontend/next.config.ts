import path from "node:path";
import type { NextConfig } from "next";

// frontend/ is its own npm project inside the repo (which has a lock file of its own)
const root = path.resolve(__dirname);

const config: NextConfig = {
  // `next start` serves the normal build; the container image sets WX_NEXT_STANDALONE=1
  // to get .next/standalone/server.js instead.
  output: process.env.WX_NEXT_STANDALONE === "1" ? "standalone" : undefined,
  outputFileTracingRoot: root,
  turbopack: { root },
  reactStrictMode: true,
  poweredByHeader: false,
  // The proxy streams SSE; compression would buffer it.
  compress: false,
  // Every answer (pages, the API proxy, assets): never framed, never MIME-sniffed, and no
  // Referer (a `/signin?code=` URL must not leak). The CSP is per page: src/proxy.ts.
  async headers() {
    return [{
      source: "/:path*",
      headers: [
        { key: "X-Frame-Options", value: "DENY" },
        { key: "X-Content-Type-Options", value: "nosniff" },
        { key: "Referrer-Policy", value: "no-referrer" },
      ],
    }];
  },
};

export default config;
