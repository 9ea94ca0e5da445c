import { type RefObject, useInsertionEffect, useRef } from 'react';

/**
 * A ref that always holds the value of the latest committed render, so that callbacks created once
 * (and handed to a running session) call the newest handler rather than the one of their first render.
 */
export function useLatest<Value>(value: Value): RefObject<Value> {
  const reference = useRef(value);
  // The insertion effect runs before layout effects and event handlers of the same commit, and
  // unlike a layout effect it does not warn during server rendering on React 18.
  useInsertionEffect(() => {
    reference.current = value;
  });
  return reference;
}
