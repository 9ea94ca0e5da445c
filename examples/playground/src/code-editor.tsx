import { type KeyboardEvent, type ReactElement, type RefObject, useLayoutEffect, useRef } from 'react';

/** What one press of Tab inserts. */
const INDENT = '  ';

/** Props of {@link CodeEditor}. */
export interface CodeEditorProps {
  value: string;
  onChange(value: string): void;
  /** Called on Ctrl+Enter (⌘+Enter on a Mac). */
  onRun(): void;
  /** Receives the textarea, e.g. to insert text at its caret. */
  textareaRef?: RefObject<HTMLTextAreaElement | null>;
}

/**
 * A monospace code editor on a plain textarea: Tab indents, Shift+Tab outdents the line, Ctrl+Enter
 * runs. Escape, then Tab, moves the focus on (so the keyboard never gets stuck in the editor).
 */
export function CodeEditor({ value, onChange, onRun, textareaRef }: CodeEditorProps): ReactElement {
  const ownTextarea = useRef<HTMLTextAreaElement>(null);
  const textarea = textareaRef ?? ownTextarea;
  const caretAfterRender = useRef<number | undefined>(undefined);
  const tabLeaves = useRef(false);

  // A controlled textarea puts the caret at the end when its value changes: put it back.
  useLayoutEffect(() => {
    const caret = caretAfterRender.current;
    if (caret === undefined || textarea.current === null) return;
    caretAfterRender.current = undefined;
    textarea.current.setSelectionRange(caret, caret);
  });

  const replace = (start: number, end: number, text: string, caret: number): void => {
    caretAfterRender.current = caret;
    onChange(value.slice(0, start) + text + value.slice(end));
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>): void => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      onRun();
      return;
    }
    if (event.key === 'Escape') {
      tabLeaves.current = true;
      return;
    }
    if (event.key !== 'Tab' || tabLeaves.current || event.altKey || event.ctrlKey || event.metaKey) return;
    event.preventDefault();
    const { selectionStart, selectionEnd } = event.currentTarget;
    if (!event.shiftKey) {
      replace(selectionStart, selectionEnd, INDENT, selectionStart + INDENT.length);
      return;
    }
    const lineStart = value.lastIndexOf('\n', selectionStart - 1) + 1;
    const leadingSpaces = /^ */.exec(value.slice(lineStart))?.[0].length ?? 0;
    const removed = Math.min(leadingSpaces, INDENT.length);
    if (removed > 0)
      replace(lineStart, lineStart + removed, '', Math.max(lineStart, selectionStart - removed));
  };

  return (
    <textarea
      ref={textarea}
      className="code-editor"
      aria-label="Code"
      value={value}
      onChange={(event) => onChange(event.target.value)}
      onKeyDown={onKeyDown}
      onBlur={() => {
        tabLeaves.current = false;
      }}
      spellCheck={false}
      autoCapitalize="off"
      autoComplete="off"
      autoCorrect="off"
      wrap="off"
    />
  );
}
