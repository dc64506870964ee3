// Renders the Markdown tree of markdown.ts as React elements: text stays text (no HTML is ever
// injected), links open outside the app, images are named and never loaded.
import type { ReactNode } from 'react';
import { parseMarkdown, type Block, type Inline } from './markdown';

function inline(nodes: Inline[], key = ''): ReactNode[] {
  return nodes.map((n, i) => {
    const k = `${key}${i}`;
    switch (n.type) {
      case 'text':
        return n.text;
      case 'strong':
        return <strong key={k}>{inline(n.children, k + '-')}</strong>;
      case 'em':
        return <em key={k}>{inline(n.children, k + '-')}</em>;
      case 'code':
        return <code key={k}>{n.text}</code>;
      case 'link':
        return (
          <a key={k} href={n.href} target="_blank" rel="noopener noreferrer">
            {inline(n.children, k + '-')}
          </a>
        );
      case 'image':
        return (
          <span key={k} className="md-image" data-testid="md-image">
            [picture not shown{n.alt ? `: ${n.alt}` : ''}]
          </span>
        );
    }
  });
}

/** `headingBase`: the level the page's own headings end at (a tip's "#" becomes h{base+1}). */
export function Markdown({ source, headingBase = 2 }: { source: string; headingBase?: number }) {
  const blocks: Block[] = parseMarkdown(source);
  return (
    <div className="md">
      {blocks.map((b, i) => {
        if (b.type === 'heading') {
          const level = Math.min(6, headingBase + b.level);
          const Tag = `h${level}` as 'h3';
          return <Tag key={i}>{inline(b.children)}</Tag>;
        }
        if (b.type === 'list') {
          const Tag = b.ordered ? 'ol' : 'ul';
          return (
            <Tag key={i}>
              {b.items.map((item, j) => (
                <li key={j}>{inline(item, `${i}-${j}-`)}</li>
              ))}
            </Tag>
          );
        }
        return <p key={i}>{inline(b.children)}</p>;
      })}
    </div>
  );
}
