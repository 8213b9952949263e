/**
 * Topics: named groups of clients for publish/subscribe. A client is in any number of
 * topics; a topic exists while it has a subscriber. Both directions are indexed, so
 * publishing walks only the topic's subscribers and a closing client leaves all its
 * topics at once.
 */

/** Topic name → subscribers, and subscriber → topic names. */
export class Topics<T> {
  readonly #members = new Map<string, Set<T>>();
  readonly #topicsOf = new Map<T, Set<string>>();

  /** Add `member` to `topic`; false when it already was there. */
  subscribe(member: T, topic: string): boolean {
    let members = this.#members.get(topic);
    if (members === undefined) this.#members.set(topic, (members = new Set()));
    if (members.has(member)) return false;
    members.add(member);
    let topics = this.#topicsOf.get(member);
    if (topics === undefined) this.#topicsOf.set(member, (topics = new Set()));
    topics.add(topic);
    return true;
  }

  /** Remove `member` from `topic`; false when it was not there. */
  unsubscribe(member: T, topic: string): boolean {
    const members = this.#members.get(topic);
    if (members === undefined || !members.delete(member)) return false;
    if (members.size === 0) this.#members.delete(topic);
    const topics = this.#topicsOf.get(member)!;
    topics.delete(topic);
    if (topics.size === 0) this.#topicsOf.delete(member);
    return true;
  }

  /** Remove `member` from every topic. */
  leaveAll(member: T): void {
    for (const topic of [...(this.#topicsOf.get(member) ?? [])]) this.unsubscribe(member, topic);
  }

  /** The subscribers of `topic` (empty when none). */
  members(topic: string): ReadonlySet<T> {
    return this.#members.get(topic) ?? EMPTY;
  }

  /** The topics `member` is in. */
  topicsOf(member: T): ReadonlySet<string> {
    return this.#topicsOf.get(member) ?? EMPTY;
  }

  /** The topics that have subscribers. */
  names(): IterableIterator<string> {
    return this.#members.keys();
  }
}

const EMPTY: ReadonlySet<never> = new Set();
