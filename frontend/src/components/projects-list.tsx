"use client";
/** The tenant's projects, and a form to create one. */
import Link from "next/link";
import { useEffect, useState, type FormEvent } from "react";

import { api, ApiError, type Project } from "@/lib/api/client";
import { describeError } from "@/lib/errors";
import { ErrorBanner } from "./error-banner";

export function ProjectsList() {
  const [projects, setProjects] = useState<Project[] | null>(null);
  const [name, setName] = useState("");
  const [error, setError] = useState<ApiError | null>(null);

  const load = async () => {
    try {
      setProjects(await api.listProjects());
    } catch (err) {
      handle(err);
    }
  };
  const handle = (err: unknown) => {
    if (err instanceof ApiError && err.status === 401) window.location.href = "/login";
    setError(err instanceof ApiError ? err : new ApiError(0, "internal", String(err)));
  };

  useEffect(() => {
    void load();
  }, []);

  const create = async (event: FormEvent) => {
    event.preventDefault();
    try {
      const project = await api.createProject(name.trim());
      setName("");
      setProjects((list) => [project, ...(list ?? [])]);
    } catch (err) {
      handle(err);
    }
  };

  return (
    <section className="stack">
      <h1>Projects</h1>
      <form className="row card" onSubmit={create}>
        <input
          data-testid="project-name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          placeholder="New project name"
          maxLength={200}
        />
        <button type="submit" className="primary" disabled={!name.trim()} data-testid="create-project">
          Create
        </button>
      </form>
      {error && <ErrorBanner error={describeError(error.code, error.message, error.details)} />}
      {projects === null ? (
        <p className="muted">Loading…</p>
      ) : projects.length === 0 ? (
        <p className="muted">No projects yet: create one above.</p>
      ) : (
        <ul className="list" data-testid="projects">
          {projects.map((p) => (
            <li key={p.id} className="card row spread">
              <Link href={`/projects/${p.id}`} className="title-link">
                {p.name}
              </Link>
              <span className="muted small">
                created {new Date(p.created_at).toLocaleString()} ·{" "}
                <Link href={`/projects/${p.id}/usage`}>usage</Link>
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
