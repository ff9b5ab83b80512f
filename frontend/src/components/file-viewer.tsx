"use client";
/** One workspace file, shown with syntax highlighting (highlight.js); binary files are named only. */
import hljs from "highlight.js/lib/common";
import { useEffect, useState } from "react";

import { api, type FileContent } from "@/lib/api/client";
import { formatSize, languageOf } from "@/lib/file-tree";

function highlighted(path: string, text: string): string {
  const language = languageOf(path);
  if (language && hljs.getLanguage(language)) return hljs.highlight(text, { language }).value;
  return hljs.highlight(text, { language: "plaintext" }).value;
}

export function FileViewer({ projectId, path }: { projectId: string; path: string }) {
  const [file, setFile] = useState<FileContent | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    setFile(null);
    setError(null);
    api.readFile(projectId, path).then(
      (content) => live && setFile(content),
      (err: Error) => live && setError(err.message),
    );
    return () => {
      live = false;
    };
  }, [projectId, path]);

  if (error) return <p className="error-text small">{error}</p>;
  if (!file) return <p className="muted small">Loading {path}…</p>;
  return (
    <div className="file-viewer" data-testid="file-viewer" data-path={file.path}>
      <div className="row spread small muted">
        <span className="file-path">{file.path}</span>
        <span>
          {formatSize(file.size)}
          {file.encoding ? ` · ${file.encoding}` : ""}
          {file.truncated ? " · first part only" : ""}
        </span>
      </div>
      {file.binary || typeof file.content !== "string" ? (
        <p className="muted small">Binary file: not shown. Download the workspace to get it.</p>
      ) : (
        <pre className="hljs">
          <code data-testid="file-content" dangerouslySetInnerHTML={{ __html: highlighted(file.path, file.content ?? "") }} />
        </pre>
      )}
    </div>
  );
}
