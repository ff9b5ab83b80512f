"use client";
import Link from "next/link";
import { useEffect, useRef, useState } from "react";

import { ApiError } from "@/lib/api/api-error";
import { signInWithCode } from "@/lib/api/same-origin";

/** `/signin?code=…`: the run command's one-time link. The code is POSTed as JSON once. */
export default function SignInWithCodePage() {
  const [error, setError] = useState<string | null>(null);
  const started = useRef(false);

  useEffect(() => {
    if (started.current) return; // a code works once: never send it twice
    started.current = true;
    const code = new URLSearchParams(window.location.search).get("code") ?? "";
    window.history.replaceState(null, "", "/signin"); // the code leaves the address bar
    if (!code) {
      setError("This link has no sign-in code.");
      return;
    }
    signInWithCode(code)
      .then(() => window.location.replace("/"))
      .catch((err: unknown) => setError(err instanceof ApiError ? err.message : "Sign-in failed."));
  }, []);

  return (
    <section className="card narrow">
      <h1>Signing in…</h1>
      {error ? (
        <>
          <p className="error-text" role="alert">{error}</p>
          <p className="muted">
            Run <code>wxrunner signin</code> for a new link, or <Link href="/login">paste a token</Link>.
          </p>
        </>
      ) : (
        <p className="muted">Checking the sign-in link.</p>
      )}
    </section>
  );
}
