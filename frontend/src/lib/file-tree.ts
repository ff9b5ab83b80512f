/** The workspace listing (flat, by path) as a tree of folders and files. */
import type { FileEntry } from "./api/client";

export interface TreeNode {
  name: string;
  path: string;
  kind: FileEntry["kind"];
  size: number;
  children: TreeNode[];
}

/** Folders first, then files, each by name; a path's missing parents are made. */
export function buildTree(entries: FileEntry[]): TreeNode[] {
  const root: TreeNode = { name: "", path: "", kind: "dir", size: 0, children: [] };
  const folders = new Map<string, TreeNode>([["", root]]);
  const folder = (path: string): TreeNode => {
    const known = folders.get(path);
    if (known) return known;
    const cut = path.lastIndexOf("/");
    const node: TreeNode = { name: path.slice(cut + 1), path, kind: "dir", size: 0, children: [] };
    folder(cut < 0 ? "" : path.slice(0, cut)).children.push(node);
    folders.set(path, node);
    return node;
  };
  for (const entry of entries) {
    if (entry.kind === "dir") {
      folder(entry.path);
      continue;
    }
    const cut = entry.path.lastIndexOf("/");
    const parent = folder(cut < 0 ? "" : entry.path.slice(0, cut));
    parent.children.push({ name: entry.path.slice(cut + 1), path: entry.path, kind: entry.kind, size: entry.size, children: [] });
  }
  const sort = (node: TreeNode): void => {
    node.children.sort((a, b) => Number(b.kind === "dir") - Number(a.kind === "dir") || a.name.localeCompare(b.name));
    node.children.forEach(sort);
  };
  sort(root);
  return root.children;
}

/** "1.2 KB", "3.4 MB". */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** highlight.js's language for a file name (WinDev sources read best as their BASIC-like WLanguage: none fits, so plain). */
const LANGUAGES: Record<string, string> = {
  py: "python", ts: "typescript", tsx: "typescript", js: "javascript", jsx: "javascript", json: "json",
  md: "markdown", css: "css", html: "xml", xml: "xml", sql: "sql", sh: "bash", yml: "yaml", yaml: "yaml",
  java: "java", cs: "csharp", go: "go", rs: "rust", php: "php", rb: "ruby", toml: "ini", ini: "ini",
};

export function languageOf(path: string): string | null {
  const ext = path.includes(".") ? path.slice(path.lastIndexOf(".") + 1).toLowerCase() : "";
  return LANGUAGES[ext] ?? null;
}
