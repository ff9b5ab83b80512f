/** Markdown with highlighted code blocks; raw HTML in the text is not rendered. */
import ReactMarkdown from "react-markdown";
import rehypeHighlight from "rehype-highlight";

export function Markdown({ text }: { text: string }) {
  return (
    <div className="markdown">
      <ReactMarkdown rehypePlugins={[[rehypeHighlight, { detect: false, ignoreMissing: true }]]}>{text}</ReactMarkdown>
    </div>
  );
}
