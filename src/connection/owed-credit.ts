/**
 * Credit one side of a bridge owes the other for the frames it took (see BridgeLink.credit): given
 * back at most once per turn of the event loop, so a burst of frames costs one message, and not
 * while `holding()`, so a side that stopped taking frames stops the other once its window is used.
 * Shared by both ends of a stateful re-attach across instances.
 */
export class OwedCredit {
  private owed = 0;
  private scheduled = false;

  constructor(
    private readonly give: (bytes: number) => void,
    private readonly holding: () => boolean,
  ) {}

  /** `bytes` of the other side's frames were taken. */
  took(bytes: number): void {
    this.owed += bytes;
    this.schedule();
  }

  /** Gives what is owed on the next turn, unless held then; called again once the hold ends. */
  schedule(): void {
    if (this.scheduled || this.owed === 0 || this.holding()) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.owed === 0 || this.holding()) return;
      const owed = this.owed;
      this.owed = 0;
      this.give(owed);
    });
  }
}
