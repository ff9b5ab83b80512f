import { UsageView } from "@/components/usage-view";

type Props = { params: Promise<{ id: string }> };

export default async function ProjectUsagePage({ params }: Props) {
  const { id } = await params;
  return <UsageView projectId={id} />;
}
