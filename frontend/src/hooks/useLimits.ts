"use client";
/** The tenant's limits and use (GET /api/limits), read again whenever `refreshKey` changes. */
import { useEffect, useState } from "react";

import { api, type Limits } from "@/lib/api/client";

export function useLimits(refreshKey: number): Limits | null {
  const [limits, setLimits] = useState<Limits | null>(null);
  useEffect(() => {
    let live = true;
    api.limits().then((value) => live && setLimits(value), () => undefined);
    return () => {
      live = false;
    };
  }, [refreshKey]);
  return limits;
}
