import type { TemplateContent, TemplateEvent } from './events.js';

export type TemplateState =
  | { readonly status: 'none' }
  | { readonly status: 'active'; readonly templateId: string; readonly name: string; readonly version: number; readonly content: TemplateContent }
  | { readonly status: 'archived'; readonly templateId: string; readonly name: string; readonly version: number; readonly content: TemplateContent };

export const initialTemplateState = (): TemplateState => ({ status: 'none' });

export function evolveTemplate(state: TemplateState, event: TemplateEvent): TemplateState {
  switch (event.type) {
    case 'TemplateCreated': {
      const { templateId, name, subject, html, text, version } = event.data;
      return { status: 'active', templateId, name, version, content: { subject, html, text } };
    }
    case 'TemplateChanged': {
      if (state.status === 'none') return state;
      const { subject, html, text, version } = event.data;
      return { ...state, version, content: { subject, html, text } };
    }
    case 'TemplateRenamed':
      return state.status === 'none' ? state : { ...state, name: event.data.name };
    case 'TemplateArchived':
      return state.status === 'active' ? { ...state, status: 'archived' } : state;
  }
}
