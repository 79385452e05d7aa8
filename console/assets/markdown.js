// Markdown, rendered safely: written here rather than vendored because the console needs only a few
// constructs and must never turn model output into markup. It builds DOM nodes and sets text with
// `textContent` (no innerHTML anywhere), so `<script>` or `onerror=` in a reply stays text; links are
// kept only for http(s) and mailto addresses and open with rel="noopener noreferrer". Images are not
// rendered (a remote image would leak the reader's address): their alt text and address show as a link.
// Supported: ``` fences, `code`, **bold**, *em* (not the underscore forms: `__name__` in code talk is no emphasis), # headings (shown as h4–h6: the page owns h1–h3),
// - and 1. lists, > quotes, [text](url), paragraphs.
import { h } from "./dom.js";

export function markdown(text) {
  const root = document.createDocumentFragment();
  const lines = String(text ?? "").replace(/\r\n?/g, "\n").split("\n");
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const fence = line.match(/^\s*(```+|~~~+)\s*([\w+-]*)\s*$/);
    if (fence) {
      const body = [];
      for (i += 1; i < lines.length && !lines[i].trim().startsWith(fence[1]); i += 1) body.push(lines[i]);
      i += 1;
      root.append(h("pre", {}, h("code", fence[2] ? { "data-lang": fence[2] } : {}, body.join("\n"))));
      continue;
    }
    if (!line.trim()) {
      i += 1;
      continue;
    }
    const heading = line.match(/^(#{1,6})\s+(.*)$/);
    if (heading) {
      root.append(h(`h${Math.min(6, heading[1].length + 3)}`, {}, inline(heading[2])));
      i += 1;
      continue;
    }
    const list = listKind(line);
    if (list) {
      const items = h(list);
      while (i < lines.length && listKind(lines[i]) === list) {
        items.append(h("li", {}, inline(lines[i].replace(/^\s*(?:[-*+]|\d+[.)])\s+/, ""))));
        i += 1;
      }
      root.append(items);
      continue;
    }
    if (/^\s*>/.test(line)) {
      const quoted = [];
      while (i < lines.length && /^\s*>/.test(lines[i])) quoted.push(lines[i++].replace(/^\s*>\s?/, ""));
      root.append(h("blockquote", {}, markdown(quoted.join("\n"))));
      continue;
    }
    const para = [];
    while (i < lines.length && lines[i].trim() && !startsBlock(lines[i])) para.push(lines[i++]);
    root.append(h("p", {}, inline(para.join("\n"))));
  }
  return root;
}

const listKind = (line) => (/^\s*[-*+]\s+/.test(line) ? "ul" : /^\s*\d+[.)]\s+/.test(line) ? "ol" : null);
const startsBlock = (line) => /^\s*(```|~~~|#{1,6}\s|>)/.test(line) || listKind(line) !== null;

// One pass over the text: the earliest construct wins, the text before it stays text.
const INLINE = /`([^`]+)`|\*\*([^*]+)\*\*|\*([^*\s][^*]*)\*|!?\[([^\]]*)\]\(([^)\s]+)\)/;

function inline(text) {
  const out = [];
  let rest = text;
  while (rest) {
    const m = rest.match(INLINE);
    if (!m) {
      out.push(rest);
      break;
    }
    if (m.index) out.push(rest.slice(0, m.index));
    if (m[1] !== undefined) out.push(h("code", {}, m[1]));
    else if (m[2] !== undefined) out.push(h("strong", {}, inline(m[2])));
    else if (m[3] !== undefined) out.push(h("em", {}, inline(m[3])));
    else out.push(link(m[4], m[5]));
    rest = rest.slice(m.index + m[0].length);
  }
  return out;
}

function link(label, address) {
  let url;
  try {
    url = new URL(address);
  } catch {
    return `${label} (${address})`;
  }
  if (!["http:", "https:", "mailto:"].includes(url.protocol)) return `${label} (${address})`;
  return h("a", { href: url.href, rel: "noopener noreferrer", target: "_blank" }, label || url.href);
}
