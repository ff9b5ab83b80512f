"use client";
/** A project's token usage (totals, by session, model and day) and the tenant's limits, from REST. */
import { useCallback, useEffect, useState } from "react";

import { api, ApiError, type Limits, type UsageReport } from "@/lib/api/client";

interface UseTokenUsage {
  report: UsageReport | null;
  limits: Limits | null;
  error: ApiError | null;
  loading: boolean;
  refresh: () => Promise<void>;
}

export function useTokenUsage(projectId: string): UseTokenUsage {
  const [report, setReport] = useState<UsageReport | null>(null);
  const [limits, setLimits] = useState<Limits | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);

  const refresh = useCallback(async () => {
    setLoading(true);
    try {
      const [usage, tenantLimits] = await Promise.all([api.tokenUsage(projectId), api.limits().catch(() => null)]);
      setReport(usage);
      setLimits(tenantLimits);
      setError(null);
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, "internal", String(err)));
    } finally {
      setLoading(false);
    }
  }, [projectId]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  return { report, limits, error, loading, refresh };
}
