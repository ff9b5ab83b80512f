"use client";
/** What a turn changed in the workspace: the files, their diffs (diff2html), and a revert. */
import { html as diffHtml } from "diff2html";
import { useState } from "react";

import { api, type TurnChanges } from "@/lib/api/client";
import type { TurnFiles } from "@/lib/chat-state";

const STATUS_MARK: Record<string, string> = { added: "A", modified: "M", deleted: "D" };

export function ChangesPanel({ jobId, files, onReverted }: { jobId: string; files: TurnFiles | null; onReverted: () => void }) {
  const [open, setOpen] = useState(false);
  const [changes, setChanges] = useState<TurnChanges | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [reverted, setReverted] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const toggle = async () => {
    const next = !open;
    setOpen(next);
    if (next && !changes) {
      try {
        setChanges(await api.jobChanges(jobId));
      } catch (err) {
        setError((err as Error).message);
      }
    }
  };

  const revert = async () => {
    if (!window.confirm("Restore the workspace to what it was before this turn? Later changes are undone too (they stay in the history).")) return;
    setBusy(true);
    try {
      const result = await api.revertJob(jobId);
      setReverted(`Restored: ${result.files.length} file(s) put back.`);
      onReverted();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const count = files ? files.total : null;
  if (count === 0 && !open) return <span className="muted small" data-testid="no-changes">No files changed</span>;
  return (
    <div className="changes" data-testid="changes">
      <button type="button" className="small" data-testid="changes-toggle" onClick={() => void toggle()}>
        {open ? "Hide changes" : `Changes${count !== null ? ` (${count} file${count === 1 ? "" : "s"})` : ""}`}
      </button>
      {open && (
        <div className="changes-body">
          {error && <p className="error-text small">{error}</p>}
          {!changes && !error && <p className="muted small">Loading the diff…</p>}
          {changes && changes.files && (
            <>
              <ul className="changed-files small" data-testid="changed-files">
                {(changes.files ?? []).map((f) => (
                  <li key={f.path} data-testid="changed-file" data-path={f.path} data-status={f.status}>
                    <span className={`mark ${f.status}`}>{STATUS_MARK[f.status]}</span> {f.path}
                    {f.additions !== null && f.additions !== undefined && (
                      <span className="muted">
                        {" "}
                        +{f.additions} −{f.deletions}
                      </span>
                    )}
                  </li>
                ))}
              </ul>
              {changes.files.length > 0 && (
                <div
                  className="diff"
                  data-testid="diff"
                  dangerouslySetInnerHTML={{
                    __html: diffHtml(changes.files.map((f) => f.diff).join(""), { drawFileList: false, matching: "lines", outputFormat: "line-by-line" }),
                  }}
                />
              )}
              {changes.truncated && <p className="muted small">The diff is cut at its size limit.</p>}
              {changes.commit && (
                <button type="button" className="small danger" data-testid="revert-button" disabled={busy || reverted !== null} onClick={() => void revert()}>
                  Restore the workspace to before this turn
                </button>
              )}
              {reverted && (
                <p className="small" data-testid="reverted">
                  {reverted}
                </p>
              )}
            </>
          )}
        </div>
      )}
    </div>
  );
}
