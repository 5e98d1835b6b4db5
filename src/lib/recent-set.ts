/** A set that remembers at most `max` values, forgetting the oldest first. */
export class RecentSet<T> {
  private readonly values = new Set<T>();

  constructor(private readonly max: number) {}

  has(value: T): boolean {
    return this.values.has(value);
  }

  add(...values: T[]): void {
    for (const v of values) {
      this.values.delete(v);
      this.values.add(v);
    }
    for (const v of this.values) {
      if (this.values.size <= this.max) break;
      this.values.delete(v);
    }
  }
}
