import { ProjectsList } from "@/components/projects-list";

export default function HomePage() {
  return <ProjectsList />;
}
