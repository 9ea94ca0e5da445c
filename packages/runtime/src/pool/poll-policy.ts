/** The longest run of occasions a {@link PollPolicy} skips after polls that found nothing. */
const MAX_SKIPPED = 64;

/**
 * Whether an end of a thread channel should poll for the other end's answer before it waits to be
 * woken. A poll pays when the answer comes within its window (a tool answered at once, the next
 * call of a loop) and wastes its window of CPU when it does not (a slow tool, a guest computing):
 * after a poll that found nothing the next occasions are skipped, twice as many each time up to
 * {@link MAX_SKIPPED}, and one poll that finds its frame makes every occasion poll again.
 */
export class PollPolicy {
  private skipped = 0;
  private toSkip = 0;

  /** Whether to poll on this occasion. */
  shouldPoll(): boolean {
    if (this.skipped < this.toSkip) {
      this.skipped += 1;
      return false;
    }
    return true;
  }

  /** Records what the poll found. */
  record(found: boolean): void {
    this.skipped = 0;
    this.toSkip = found ? 0 : Math.min(MAX_SKIPPED, Math.max(1, this.toSkip * 2));
  }
}
