/** Runtime config for the page: where to open the chat socket (read at request time, not build time). */
import { NextResponse } from "next/server";

import type { RuntimeConfig } from "@/lib/api/same-origin";
import { apiPort, publicWsUrl } from "@/lib/server/session";

export const dynamic = "force-dynamic";

export function GET(): NextResponse<RuntimeConfig> {
  return NextResponse.json<RuntimeConfig>({ wsUrl: publicWsUrl(), apiPort: apiPort() }, { headers: { "cache-control": "no-store" } });
}
