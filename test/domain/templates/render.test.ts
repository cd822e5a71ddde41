import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/domain/shared/errors.js';
import { renderTemplate, TemplateRenderError, validateTemplateContent, type RenderScope } from '../../../src/domain/templates/render.js';
import { contactValues, sampleScope } from '../../../src/domain/templates/sample.js';

const schema = { attributeKeys: new Set(['first_name', 'plan']) };
const scope: RenderScope = {
  contact: { email: 'ada@example.com', tags: ['vip', 'beta'], first_name: 'Ada' },
  campaign: { name: 'Spring sale' },
  unsubscribe_url: 'https://x.test/u?a=1&b=2',
  view_in_browser_url: 'https://x.test/v',
};

function validationError(html: string, subject = 'Hello'): ValidationError {
  try {
    validateTemplateContent({ subject, html, text: null }, schema);
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('expected a ValidationError');
}

describe('template validation on save', () => {
  it('accepts the engine variables, the workspace attributes, loops and assigns', () => {
    const html = `<p>Hi {{ contact.first_name | default: "there" }} ({{ contact.email }}), {{ campaign.name }}</p>
      {% for tag in contact.tags %}{{ tag | upcase }}{{ forloop.index }}{% endfor %}
      {% assign plan = contact.plan %}{% if plan == "pro" %}Pro!{% endif %}
      <a href="{{ unsubscribe_url }}">unsubscribe</a> <a href="{{ view_in_browser_url }}">view</a>`;
    expect(() => validateTemplateContent({ subject: '{{ campaign.name }} for {{ contact.first_name }}', html, text: 'Hi {{ contact.email }}' }, schema)).not.toThrow();
  });

  it('a syntax error names the part, line and column', () => {
    const error = validationError('<p>one</p>\n<p>{% if contact.email %}two</p>\n');
    expect(error.field).toBe('input.html');
    expect(error.message).toMatch(/syntax error in html at line 2, column 4: tag \{% if contact.email %\} not closed/);
    const unclosed = validationError('<p>ok</p>', 'Hi {{ contact.email');
    expect(unclosed.field).toBe('input.subject');
    expect(unclosed.message).toMatch(/line 1, column 4/);
  });

  it('unknown variables are refused with their position', () => {
    const error = validationError('<p>\n  {{ contact.last_name }}</p>');
    expect(error.field).toBe('input.html');
    expect(error.message).toMatch(/line 2, column 6: contact.last_name: "last_name" is not a contact field of this workspace \(known: email, tags, first_name, plan\)/);
    expect(validationError('{{ order.total }}').message).toMatch(/order.total: available are contact/);
    expect(validationError('{{ campaign.id }}').message).toMatch(/only campaign.name/);
    expect(validationError('{{ contact }}').message).toMatch(/needs a field/);
    expect(validationError('{% assign k = "plan" %}{{ contact[k] }}').message).toMatch(/must be named/);
  });

  it('unknown filters, include/render/layout and the raw filter are refused', () => {
    expect(validationError('{{ contact.email | shout }}').message).toMatch(/undefined filter: shout/);
    expect(validationError('<p>\n{% include "header" %}</p>').message).toMatch(/line 2, column 1: the include tag is not allowed/);
    expect(validationError('{% render "footer" %}').message).toMatch(/render tag is not allowed/);
    expect(validationError('{% layout "base" %}').message).toMatch(/layout tag is not allowed/);
    expect(validationError('{{ contact.first_name | raw }}').message).toMatch(/undefined filter: raw/);
  });

  it('prototype properties are not contact fields', () => {
    expect(validationError('{{ contact.constructor }}').message).toMatch(/"constructor" is not a contact field/);
    expect(validationError('{{ contact.__proto__ }}').message).toMatch(/"__proto__" is not a contact field/);
  });
});

describe('rendering', () => {
  it('escapes every output in HTML but not in the text body or subject', () => {
    const evil: RenderScope = { ...scope, contact: { ...scope.contact, first_name: '<script>alert("x")</script> & co' } };
    const rendered = renderTemplate({ subject: 'Hi {{ contact.first_name }}', html: '<p>{{ contact.first_name }}</p><a href="{{ unsubscribe_url }}">', text: 'Hi {{ contact.first_name }}' }, evil);
    expect(rendered.html).toBe('<p>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co</p><a href="https://x.test/u?a=1&amp;b=2">');
    expect(rendered.text).toBe('Hi <script>alert("x")</script> & co');
    expect(rendered.subject).toBe('Hi <script>alert("x")</script> & co');
  });

  it('a subject is one line', () => {
    const rendered = renderTemplate({ subject: 'Hi {{ contact.first_name }}\nBcc: x@evil.test', html: 'x', text: null }, { ...scope, contact: { ...scope.contact, first_name: 'A\r\nB' } });
    expect(rendered.subject).toBe('Hi A B Bcc: x@evil.test');
  });

  it('a contact field the contact lacks renders empty (or its default); other unknowns still fail', () => {
    const rendered = renderTemplate({ subject: 'x', html: '[{{ contact.plan }}] {{ contact.plan | default: "free" }} {% if contact.plan %}paid{% endif %}', text: null }, scope);
    expect(rendered.html).toBe('[] free ');
    expect(() => renderTemplate({ subject: 'x', html: '{{ campaign.id }}', text: null }, scope)).toThrow(TemplateRenderError);
  });

  it('prototype access renders nothing or fails, never leaks', () => {
    const rendered = renderTemplate({ subject: 'x', html: '[{{ contact.constructor }}][{{ contact.constructor.name }}]', text: null }, scope);
    expect(rendered.html).toBe('[][]');
    expect(() => renderTemplate({ subject: 'x', html: '{{ contact.email.constructor }}', text: null }, scope)).toThrow(/undefined variable: contact.email.constructor/);
    expect(() => renderTemplate({ subject: 'x', html: '{{ campaign.constructor }}', text: null }, scope)).toThrow(/undefined variable/);
  });

  it('a template parsed once renders each recipient with their own values, assigns and missing fields included', () => {
    const content = { subject: 'For {{ contact.first_name | default: "you" }}', html: '{% assign n = contact.plan %}<p>{{ contact.email }} {{ n }}</p>', text: null };
    const ada = renderTemplate(content, scope);
    const bob = renderTemplate(content, { ...scope, contact: { email: 'bob@example.com', plan: 'pro' } });
    const adaAgain = renderTemplate(content, scope);
    expect([ada.subject, ada.html]).toEqual(['For Ada', '<p>ada@example.com </p>']);
    expect([bob.subject, bob.html]).toEqual(['For you', '<p>bob@example.com pro</p>']);
    expect(adaAgain).toEqual(ada);
    // The same source in the other engine is its own parse: the text body is not HTML-escaped.
    const amp = { ...scope, contact: { email: 'a&b@example.com' } };
    expect(renderTemplate({ subject: 's', html: '{{ contact.email }}', text: '{{ contact.email }}' }, amp)).toMatchObject({ html: 'a&amp;b@example.com', text: 'a&b@example.com' });
  });

  it('render limits stop runaway templates', () => {
    expect(() => renderTemplate({ subject: 'x', html: '{% for i in (1..100000000) %}{{ i }}{% endfor %}', text: null }, scope)).toThrow(/Cannot render the html at line 1, column 1: memory alloc limit exceeded/);
  });

  it('a preview scope from sample data fills placeholders; a contact from the read model is flattened', () => {
    const sample = sampleScope({ contact: { first_name: 'Grace' }, campaign: { name: 'Launch' } }, 'https://mkt.test/');
    expect(sample).toEqual({
      contact: { email: 'preview@example.com', tags: [], first_name: 'Grace' },
      campaign: { name: 'Launch' },
      unsubscribe_url: 'https://mkt.test/preview/unsubscribe',
      view_in_browser_url: 'https://mkt.test/preview/view',
    });
    expect(() => sampleScope([1], 'https://mkt.test')).toThrow(ValidationError);
    const attributes = JSON.parse('{"plan": {"type": "string", "value": "pro"}, "__proto__": {"type": "number", "value": 1}}');
    const contact = contactValues({ email: 'a@b.test', tags: ['x'], attributes });
    expect(contact.plan).toBe('pro');
    expect(Object.hasOwn(contact, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(contact)).toBe(Object.prototype);
  });
});
