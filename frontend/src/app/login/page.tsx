"use client";
import { useState, type FormEvent } from "react";

import { ApiError } from "@/lib/api/api-error";
import { signIn } from "@/lib/api/same-origin";

export default function LoginPage() {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(token);
      window.location.href = "/";
    } catch (err) {
      setError(err instanceof ApiError ? err.message : "Sign-in failed.");
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="card narrow">
      <h1>Sign in</h1>
      <p className="muted">
        Paste a development token (<code>wxrunner token --tenant NAME</code> prints one).
      </p>
      <form onSubmit={submit} className="stack">
        <textarea
          data-testid="token-input"
          rows={4}
          value={token}
          onChange={(e) => setToken(e.target.value)}
          placeholder="eyJhbGciOi…"
          autoFocus
        />
        {error && <p className="error-text" role="alert">{error}</p>}
        <button type="submit" className="primary" disabled={busy || !token.trim()}>
          {busy ? "Checking…" : "Sign in"}
        </button>
      </form>
    </section>
  );
}
