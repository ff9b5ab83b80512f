"use client";
import { useState, type FormEvent } from "react";

export default function LoginPage() {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const response = await fetch("/api/session/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token }),
    });
    setBusy(false);
    if (response.ok) {
      window.location.href = "/";
      return;
    }
    const body = (await response.json().catch(() => ({}))) as { message?: string };
    setError(body.message ?? "Sign-in failed.");
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
