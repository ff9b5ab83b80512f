import { ChatView } from "@/components/chat-view";

type Props = { params: Promise<{ id: string }>; searchParams: Promise<{ session?: string }> };

export default async function ProjectChatPage({ params, searchParams }: Props) {
  const { id } = await params;
  const { session } = await searchParams;
  return <ChatView projectId={id} initialSessionId={session ?? null} />;
}
