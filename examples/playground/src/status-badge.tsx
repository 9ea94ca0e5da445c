import type { ReactElement } from 'react';

/** A small coloured label for a state such as `running`, `completed`, `pending` or `error`. */
export function StatusBadge({ status, label }: { status: string; label?: string }): ReactElement {
  return (
    <span className="badge" data-status={status}>
      {label ?? status}
    </span>
  );
}
