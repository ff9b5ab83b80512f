import type { Metadata } from "next";
import Link from "next/link";
import { connection } from "next/server";
import type { ReactNode } from "react";

import { SignOut } from "@/components/sign-out";
import "diff2html/bundles/css/diff2html.min.css";
import "highlight.js/styles/github.css";
import "./globals.css";

export const metadata: Metadata = { title: "wxcode runner", description: "Chat with Claude Code about your project" };

// Every page renders per request (never prerendered and cached): pages show a tenant's
// data, and Next puts each request's CSP nonce on its scripts.
export default async function RootLayout({ children }: { children: ReactNode }) {
  await connection();
  return (
    <html lang="en">
      <body>
        <header className="topbar">
          <Link href="/" className="brand">
            wxcode <span>runner</span>
          </Link>
          <nav>
            <Link href="/">Projects</Link>
            <SignOut />
          </nav>
        </header>
        <main className="page">{children}</main>
      </body>
    </html>
  );
}
