// The health-tip Markdown reader: what it keeps, and that markup, scripts, odd links and images
// come out as text (the page never sets HTML).
import { describe, expect, it } from 'vitest';
import { parseInline, parseMarkdown, safeHref } from './markdown';

describe('parseMarkdown', () => {
  it('reads headings, paragraphs and both kinds of lists', () => {
    expect(parseMarkdown('# Title\n\nFirst line\nsame paragraph.\n\n- one\n- two\n  continued\n\n1. first\n2. second')).toEqual([
      { type: 'heading', level: 1, children: [{ type: 'text', text: 'Title' }] },
      { type: 'paragraph', children: [{ type: 'text', text: 'First line same paragraph.' }] },
      { type: 'list', ordered: false, items: [[{ type: 'text', text: 'one' }], [{ type: 'text', text: 'two continued' }]] },
      { type: 'list', ordered: true, items: [[{ type: 'text', text: 'first' }], [{ type: 'text', text: 'second' }]] },
    ]);
  });

  it('keeps HTML and script tags as plain text', () => {
    const blocks = parseMarkdown('<script>alert(1)</script> <img src=x onerror=alert(1)>');
    expect(blocks).toEqual([{ type: 'paragraph', children: [{ type: 'text', text: '<script>alert(1)</script> <img src=x onerror=alert(1)>' }] }]);
  });
});

describe('parseInline', () => {
  it('reads bold, italic, code and safe links', () => {
    expect(parseInline('a **b** *c* `d` [NHS](https://www.nhs.uk/x)')).toEqual([
      { type: 'text', text: 'a ' },
      { type: 'strong', children: [{ type: 'text', text: 'b' }] },
      { type: 'text', text: ' ' },
      { type: 'em', children: [{ type: 'text', text: 'c' }] },
      { type: 'text', text: ' ' },
      { type: 'code', text: 'd' },
      { type: 'text', text: ' ' },
      { type: 'link', href: 'https://www.nhs.uk/x', children: [{ type: 'text', text: 'NHS' }] },
    ]);
  });

  it('drops javascript: and data: links to their text, and never keeps an image address', () => {
    expect(parseInline('[click](javascript:alert(1))')).toEqual([{ type: 'text', text: 'click' }, { type: 'text', text: ')' }]);
    expect(parseInline('[x](data:text/html,hi)')).toEqual([{ type: 'text', text: 'x' }]);
    const img = parseInline('![a tracking pixel](https://evil.example/p.png)');
    expect(img).toEqual([{ type: 'image', alt: 'a tracking pixel' }]);
    expect(JSON.stringify(img)).not.toContain('evil.example');
  });

  it('leaves lone stars and snake_case words alone', () => {
    expect(parseInline('2 * 3 and file_name_here')).toEqual([{ type: 'text', text: '2 * 3 and file_name_here' }]);
  });
});

describe('safeHref', () => {
  it('keeps web, mail and phone links only', () => {
    expect(safeHref('https://a.example/b?c=d')).toBe('https://a.example/b?c=d');
    expect(safeHref('mailto:desk@hospital.example')).toBe('mailto:desk@hospital.example');
    expect(safeHref('tel:+41 44 255 11 11')).toBe('tel:+41 44 255 11 11');
    for (const bad of ['javascript:alert(1)', 'JaVaScRiPt:alert(1)', 'data:text/html,x', '/relative', 'file:///etc/passwd', 'vbscript:x']) expect(safeHref(bad)).toBeNull();
  });
});
