import type { ReactElement } from 'react';
import type { Snippet } from './snippets.js';

/** Props of {@link SnippetPicker}. */
export interface SnippetPickerProps {
  snippets: readonly Snippet[];
  /** The snippet last picked, if the code has not been replaced since. */
  selectedId: string | undefined;
  onPick(snippet: Snippet): void;
}

/** The examples as a row of buttons; picking one replaces the code in the editor. */
export function SnippetPicker({ snippets, selectedId, onPick }: SnippetPickerProps): ReactElement {
  return (
    <nav className="snippets" aria-label="Examples">
      {snippets.map((snippet) => (
        <button
          key={snippet.id}
          type="button"
          className="snippet"
          aria-pressed={snippet.id === selectedId}
          title={snippet.description}
          onClick={() => onPick(snippet)}
        >
          {snippet.title}
        </button>
      ))}
    </nav>
  );
}
