// Values several config generations of one thread share (an access-log file, a tracer): created by the
// first that needs one, closed when the last lets go.
export class RefCounted<T> {
  private readonly entries = new Map<string, { value: T; users: number }>();

  constructor(private readonly closeValue: (value: T) => void | Promise<void>) {}

  acquire(key: string, create: () => T): T {
    const found = this.entries.get(key);
    if (found !== undefined) {
      found.users++;
      return found.value;
    }
    const value = create();
    this.entries.set(key, { value, users: 1 });
    return value;
  }

  async release(key: string): Promise<void> {
    const found = this.entries.get(key);
    if (found === undefined || --found.users > 0) return;
    this.entries.delete(key);
    await this.closeValue(found.value);
  }

  async closeAll(): Promise<void> {
    const values = [...this.entries.values()].map((e) => e.value);
    this.entries.clear();
    await Promise.all(values.map((v) => this.closeValue(v)));
  }
}
