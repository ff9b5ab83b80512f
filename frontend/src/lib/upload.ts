/** Uploading into a project's workspace with progress (fetch reports none: XMLHttpRequest). */
import { ApiError, apiErrorFrom, networkError } from "./api/api-error";
import type { components } from "./api/openapi.gen";

export type UploadResult = components["schemas"]["UploadResult"];

/** A minimal XMLHttpRequest, so tests can pass their own. */
export interface UploadXhr {
  upload: { onprogress: ((event: { loaded: number; total: number; lengthComputable: boolean }) => void) | null };
  onload: (() => void) | null;
  onerror: (() => void) | null;
  status: number;
  statusText: string;
  responseText: string;
  open(method: string, url: string): void;
  getResponseHeader(name: string): string | null;
  send(body: FormData): void;
}

/** POST the file to `/api/projects/{id}/files` (an archive is unpacked); `onProgress` gets 0..1. */
export function uploadToWorkspace(
  projectId: string,
  file: File,
  onProgress: (share: number) => void,
  { path, xhr = new XMLHttpRequest() as unknown as UploadXhr }: { path?: string; xhr?: UploadXhr } = {},
): Promise<UploadResult> {
  const form = new FormData();
  form.append("file", file, file.name);
  if (path) form.append("path", path);
  return new Promise((resolve, reject) => {
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable && event.total > 0) onProgress(Math.min(1, event.loaded / event.total));
    };
    xhr.onerror = () => reject(networkError("upload interrupted"));
    xhr.onload = () => {
      let body: unknown = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = null;
      }
      if (xhr.status === 201 && body) {
        onProgress(1);
        resolve(body as UploadResult);
        return;
      }
      const headers = new Headers();
      const retry = xhr.getResponseHeader("retry-after");
      if (retry) headers.set("retry-after", retry);
      reject(apiErrorFrom(new Response(null, { status: xhr.status || 500, statusText: xhr.statusText, headers }), body));
    };
    xhr.open("POST", `/api/projects/${encodeURIComponent(projectId)}/files`);
    xhr.send(form);
  });
}

/** Where the workspace's (or a folder's) zip is downloaded from. */
export function archiveUrl(projectId: string, path = ""): string {
  const query = path ? `?path=${encodeURIComponent(path)}` : "";
  return `/api/projects/${encodeURIComponent(projectId)}/archive${query}`;
}

export { ApiError };
