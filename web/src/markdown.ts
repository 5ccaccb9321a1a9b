import DOMPurify from "dompurify";
import { marked } from "marked";

/**
 * A model's reply as HTML: Markdown (GitHub flavour: fenced code, lists, tables) through marked, then DOMPurify, since
 * the text is whatever the model wrote (a random-weight model writes `<img onerror=…>` as readily as prose).
 */
export function renderMarkdown(text: string): string {
  const html = marked.parse(text, { gfm: true, breaks: true, async: false });
  return DOMPurify.sanitize(html, { USE_PROFILES: { html: true } });
}
