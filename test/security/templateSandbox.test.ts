import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/domain/shared/errors.js';
import { renderTemplate, validateTemplateContent, type RenderScope } from '../../src/domain/templates/render.js';

/**
 * The liquid sandbox beyond test/domain/templates/render.test.ts: the same refusals when validation is bypassed
 * (rendering a stored template directly), in every part (subject and text use another engine than html), through
 * the `liquid` tag, and prototype access by bracket and through assigns and filters.
 */
const scope: RenderScope = {
  contact: { email: 'ada@example.com', tags: ['vip'], first_name: 'Ada' },
  campaign: { name: 'Spring' },
  unsubscribe_url: 'https://x.test/u',
  view_in_browser_url: 'https://x.test/v',
};
const schema = { attributeKeys: new Set(['first_name']) };
const render = (source: string, part: 'html' | 'subject' | 'text' = 'html') =>
  renderTemplate({ subject: part === 'subject' ? source : 'x', html: part === 'html' ? source : 'x', text: part === 'text' ? source : null }, scope);
const refusedOnSave = (source: string, part: 'html' | 'subject' | 'text' = 'html') => {
  try {
    validateTemplateContent({ subject: part === 'subject' ? source : 'x', html: part === 'html' ? source : 'x', text: part === 'text' ? source : null }, schema);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as Error).message;
  }
  return null;
};

const FILE_TAGS = ['{% include "/etc/passwd" %}', '{% render "../../package.json" %}', '{% layout "base" %}{% block x %}{% endblock %}', '{% liquid include "/etc/passwd" %}', '{% liquid\n  render "x"\n%}'];

describe('no file access', () => {
  it.each(FILE_TAGS)('%s is refused on save and at render, in every part', (source) => {
    for (const part of ['html', 'subject', 'text'] as const) {
      expect(refusedOnSave(source, part), `${part} saved`).toMatch(/not allowed/);
      expect(() => render(source, part), `${part} rendered`).toThrow(/not allowed/);
    }
  });

  it('no filter reads files or the environment', () => {
    for (const filter of ['include', 'render', 'read', 'file', 'env', 'require', 'eval', 'raw']) {
      expect(() => render(`{{ "/etc/passwd" | ${filter} }}`), filter).toThrow(/undefined filter/);
    }
  });
});

describe('no prototype access', () => {
  it.each([
    '{{ contact["__proto__"] }}',
    '{{ contact["constructor"]["name"] }}',
    '{{ contact.tags.constructor }}',
    '{% assign p = contact.__proto__ %}[{{ p }}]',
    '{% assign c = contact.constructor %}{{ c.constructor }}',
    '{{ contact.email | split: "@" | first | constructor }}',
    '{% for k in contact.__proto__ %}{{ k }}{% endfor %}',
  ])('%s renders nothing of the prototype, or fails', (source) => {
    let output = '';
    try {
      output = render(source).html;
    } catch {
      return;
    }
    expect(output).not.toMatch(/function|Object|\[native code\]|prototype/);
  });
});

describe('escaping by default', () => {
  it('every way of printing in the html part escapes contact data', () => {
    const evil = { ...scope, contact: { ...scope.contact, first_name: '<img src=x onerror=alert(1)>' } };
    for (const source of ['{{ contact.first_name }}', '{{ contact.first_name | upcase }}', '{% assign x = contact.first_name %}{{ x }}', '{% capture x %}{{ contact.first_name }}{% endcapture %}{{ x }}', '{{ contact.first_name | append: "" }}', '{% echo contact.first_name %}', '{% liquid echo contact.first_name %}']) {
      const html = renderTemplate({ subject: 'x', html: source, text: null }, evil).html;
      expect(html.toLowerCase(), source).not.toContain('<img');
      // (A capture is escaped when captured and again when printed: `&amp;lt;`, ugly but safe.)
      expect(html, source).toMatch(/&(?:amp;)?lt;img/i);
    }
  });
});
