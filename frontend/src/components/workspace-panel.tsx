"use client";
/** The project's workspace: upload by drag and drop (with progress), the file tree and a viewer, download. */
import { type DragEvent, useCallback, useEffect, useRef, useState } from "react";

import { api, type FileEntry } from "@/lib/api/client";
import { buildTree, formatSize, type TreeNode } from "@/lib/file-tree";
import { archiveUrl, uploadToWorkspace } from "@/lib/upload";
import { FileViewer } from "./file-viewer";

function Tree({ nodes, selected, onSelect }: { nodes: TreeNode[]; selected: string | null; onSelect: (path: string) => void }) {
  return (
    <ul className="tree">
      {nodes.map((node) =>
        node.kind === "dir" ? (
          <li key={node.path}>
            <details open>
              <summary data-testid="tree-folder" data-path={node.path}>
                {node.name}/
              </summary>
              <Tree nodes={node.children} selected={selected} onSelect={onSelect} />
            </details>
          </li>
        ) : (
          <li key={node.path}>
            <button
              type="button"
              className={`tree-file${selected === node.path ? " selected" : ""}`}
              data-testid="tree-file"
              data-path={node.path}
              disabled={node.kind !== "file"}
              onClick={() => onSelect(node.path)}
            >
              <span>{node.name}</span>
              <span className="muted">{node.kind === "file" ? formatSize(node.size) : node.kind}</span>
            </button>
          </li>
        ),
      )}
    </ul>
  );
}

interface UploadState {
  name: string;
  progress: number;
  error: string | null;
  done: string | null;
}

export function WorkspacePanel({ projectId, refreshKey }: { projectId: string; refreshKey: number }) {
  const [entries, setEntries] = useState<FileEntry[] | null>(null);
  const [truncated, setTruncated] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [upload, setUpload] = useState<UploadState | null>(null);
  const [dragging, setDragging] = useState(false);
  const [reloads, setReloads] = useState(0);
  const input = useRef<HTMLInputElement>(null);

  useEffect(() => {
    let live = true;
    api.listFiles(projectId).then(
      (tree) => {
        if (!live) return;
        setEntries(tree.entries);
        setTruncated(tree.truncated ?? false);
        setError(null);
      },
      (err: Error) => live && setError(err.message),
    );
    return () => {
      live = false;
    };
  }, [projectId, refreshKey, reloads]);

  const send = useCallback(
    async (files: File[]) => {
      for (const file of files) {
        setUpload({ name: file.name, progress: 0, error: null, done: null });
        try {
          const result = await uploadToWorkspace(projectId, file, (progress) =>
            setUpload((u) => (u ? { ...u, progress } : u)),
          );
          setUpload({ name: file.name, progress: 1, error: null, done: `${result.files} file(s) added` });
        } catch (err) {
          setUpload({ name: file.name, progress: 0, error: (err as Error).message, done: null });
          break;
        } finally {
          setReloads((n) => n + 1);
        }
      }
    },
    [projectId],
  );

  const onDrop = (event: DragEvent<HTMLDivElement>) => {
    event.preventDefault();
    setDragging(false);
    void send(Array.from(event.dataTransfer.files));
  };

  return (
    <aside className="workspace" data-testid="workspace">
      <div className="row spread">
        <h3>Workspace</h3>
        <a className="button small" href={archiveUrl(projectId)} download data-testid="download-button">
          Download .zip
        </a>
      </div>
      <div
        className={`dropzone${dragging ? " dragging" : ""}`}
        data-testid="dropzone"
        onDragOver={(event) => {
          event.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
        onClick={() => input.current?.click()}
      >
        Drop a project (.zip, .tar.gz) or files here, or click to choose
        <input
          ref={input}
          type="file"
          hidden
          multiple
          data-testid="upload-input"
          onChange={(event) => {
            void send(Array.from(event.target.files ?? []));
            event.target.value = "";
          }}
        />
      </div>
      {upload && (
        <div className="upload-status small" data-testid="upload-status" data-state={upload.error ? "error" : upload.done ? "done" : "sending"}>
          <div className="row spread">
            <span>{upload.name}</span>
            <span>{upload.error ? "failed" : upload.done ?? `${Math.round(upload.progress * 100)}%`}</span>
          </div>
          <progress max={1} value={upload.progress} data-testid="upload-progress" />
          {upload.error && <p className="error-text">{upload.error}</p>}
        </div>
      )}
      {error && <p className="error-text small">{error}</p>}
      {entries && entries.length === 0 && <p className="muted small">No files yet: upload the project to convert.</p>}
      {entries && entries.length > 0 && (
        <div className="tree-box" data-testid="file-tree">
          <Tree nodes={buildTree(entries)} selected={selected} onSelect={setSelected} />
          {truncated && <p className="muted small">Only the first entries are listed.</p>}
        </div>
      )}
      {selected && <FileViewer key={`${selected}-${refreshKey}-${reloads}`} projectId={projectId} path={selected} />}
    </aside>
  );
}
