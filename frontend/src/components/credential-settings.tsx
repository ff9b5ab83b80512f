"use client";
/** Settings: the tenant's own Claude credential. The value is pasted, sent once, and never shown
 * again; the page shows only "set, ends in …abcd". */
import { useEffect, useState, type FormEvent } from "react";

import { api, ApiError, type Credential } from "@/lib/api/client";
import { draftProblem, guessKind, KIND_LABEL, statusText, type CredentialKind } from "@/lib/credentials";
import { describeError } from "@/lib/errors";
import { ErrorBanner } from "./error-banner";

export function CredentialSettings() {
  const [status, setStatus] = useState<Credential | null>(null);
  const [kind, setKind] = useState<CredentialKind>("oauth_token");
  const [value, setValue] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);

  const run = async (call: () => Promise<Credential | void>) => {
    setBusy(true);
    setError(null);
    try {
      const next = await call();
      setStatus(next ?? (await api.getCredential()));
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) window.location.href = "/login";
      setError(err instanceof ApiError ? err : new ApiError(0, "internal", String(err)));
    } finally {
      setBusy(false);
    }
  };

  useEffect(() => {
    void run(() => api.getCredential());
  }, []);

  const problem = value ? draftProblem(kind, value) : null;
  const paste = (text: string) => {
    setValue(text);
    const looks = guessKind(text);
    if (looks) setKind(looks);
  };
  const link = async (event: FormEvent) => {
    event.preventDefault();
    if (draftProblem(kind, value)) return;
    await run(() => api.setCredential(kind, value.trim()));
    setValue("");
  };

  return (
    <section className="stack">
      <h1>Settings</h1>
      <div className="card stack">
        <h3>Claude credential</h3>
        <p className="small muted">
          Your turns run with your own Claude subscription (a token from <code>claude setup-token</code>) or API
          key. It is stored encrypted, used only for your turns, and never shown again. Code that Claude runs in
          your workspace can read it, so link a credential you are willing to give to your own project.
        </p>
        <p data-testid="credential-status" data-set={status?.set ?? ""}>
          {status ? statusText(status) : "Loading…"}
        </p>
        <form className="stack" onSubmit={link}>
          <label className="row">
            <span>Kind</span>
            <select data-testid="credential-kind" value={kind} onChange={(e) => setKind(e.target.value as CredentialKind)}>
              {(Object.keys(KIND_LABEL) as CredentialKind[]).map((k) => (
                <option key={k} value={k}>
                  {KIND_LABEL[k]}
                </option>
              ))}
            </select>
          </label>
          <input
            data-testid="credential-value"
            type="password"
            autoComplete="off"
            spellCheck={false}
            value={value}
            onChange={(e) => paste(e.target.value)}
            placeholder={kind === "oauth_token" ? "sk-ant-oat01-…" : "sk-ant-api03-…"}
          />
          {problem && (
            <p className="small warn" data-testid="credential-problem">
              {problem}
            </p>
          )}
          <div className="row">
            <button type="submit" className="primary" data-testid="credential-save" disabled={busy || !value || !!problem}>
              {status?.set ? "Replace" : "Link"}
            </button>
            {status?.set && (
              <button type="button" data-testid="credential-remove" disabled={busy} onClick={() => void run(api.deleteCredential)}>
                Remove
              </button>
            )}
          </div>
        </form>
      </div>
      {error && <ErrorBanner error={describeError(error.code, error.message, error.details)} />}
    </section>
  );
}
