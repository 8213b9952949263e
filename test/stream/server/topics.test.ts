/**
 * Mirror test for lib/stream/server/topics: the two-way index of topic subscriptions,
 * by example and against a naive oracle (a list of [member, topic] pairs) under random
 * sequences of subscribe / unsubscribe / leaveAll.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { Topics } from '../../../lib/stream/server/topics';

const sorted = <T>(set: Iterable<T>) => [...set].map(String).sort();

describe('stream/server/topics', () => {
  it('subscribe and unsubscribe say whether anything changed', () => {
    const topics = new Topics<string>();
    expect(topics.subscribe('a', 'news')).to.equal(true);
    expect(topics.subscribe('a', 'news')).to.equal(false);
    expect(topics.subscribe('b', 'news')).to.equal(true);
    expect(topics.subscribe('a', 'sport')).to.equal(true);
    expect(sorted(topics.members('news'))).to.deep.equal(['a', 'b']);
    expect(sorted(topics.topicsOf('a'))).to.deep.equal(['news', 'sport']);
    expect(topics.unsubscribe('a', 'news')).to.equal(true);
    expect(topics.unsubscribe('a', 'news')).to.equal(false);
    expect(topics.unsubscribe('c', 'news'), 'never subscribed').to.equal(false);
    expect(topics.unsubscribe('a', 'weather'), 'no such topic').to.equal(false);
    expect(sorted(topics.members('news'))).to.deep.equal(['b']);
    expect(sorted(topics.topicsOf('a'))).to.deep.equal(['sport']);
  });

  it('a topic exists while it has a subscriber; an unknown topic or member reads as empty', () => {
    const topics = new Topics<string>();
    expect(topics.members('none').size).to.equal(0);
    expect(topics.topicsOf('nobody').size).to.equal(0);
    topics.subscribe('a', 't');
    expect(sorted(topics.names())).to.deep.equal(['t']);
    topics.unsubscribe('a', 't');
    expect(sorted(topics.names())).to.deep.equal([]);
  });

  it('leaveAll removes a member from every topic and drops the topics it was alone in', () => {
    const topics = new Topics<string>();
    for (const t of ['x', 'y', 'z']) topics.subscribe('a', t);
    topics.subscribe('b', 'y');
    topics.leaveAll('a');
    expect(sorted(topics.names())).to.deep.equal(['y']);
    expect(sorted(topics.members('y'))).to.deep.equal(['b']);
    expect(topics.topicsOf('a').size).to.equal(0);
    topics.leaveAll('a'); // again: nothing to do
    topics.leaveAll('nobody');
    expect(sorted(topics.names())).to.deep.equal(['y']);
  });

  it('model: random subscribe / unsubscribe / leaveAll agree with a list of pairs, both directions', () => {
    const member = fc.constantFrom('a', 'b', 'c', 'd');
    const topic = fc.constantFrom('t1', 't2', 't3', '');
    const op = fc.oneof(
      fc.tuple(fc.constant('subscribe' as const), member, topic),
      fc.tuple(fc.constant('unsubscribe' as const), member, topic),
      fc.tuple(fc.constant('leaveAll' as const), member, fc.constant('')),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const topics = new Topics<string>();
        let pairs: string[] = []; // `${member}|${topic}`
        for (const [kind, m, t] of ops) {
          const key = `${m}|${t}`;
          if (kind === 'subscribe') {
            expect(topics.subscribe(m, t)).to.equal(!pairs.includes(key));
            if (!pairs.includes(key)) pairs.push(key);
          } else if (kind === 'unsubscribe') {
            expect(topics.unsubscribe(m, t)).to.equal(pairs.includes(key));
            pairs = pairs.filter((p) => p !== key);
          } else {
            topics.leaveAll(m);
            pairs = pairs.filter((p) => !p.startsWith(`${m}|`));
          }
          const split = pairs.map((p) => p.split('|') as [string, string]);
          const names = [...new Set(split.map(([, tt]) => tt))].sort();
          expect(sorted(topics.names())).to.deep.equal(names);
          for (const name of ['t1', 't2', 't3', '']) {
            expect(sorted(topics.members(name))).to.deep.equal(
              split
                .filter(([, tt]) => tt === name)
                .map(([mm]) => mm)
                .sort(),
            );
          }
          for (const who of ['a', 'b', 'c', 'd']) {
            expect(sorted(topics.topicsOf(who))).to.deep.equal(
              split
                .filter(([mm]) => mm === who)
                .map(([, tt]) => tt)
                .sort(),
            );
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('members are compared by identity (objects, as the server keeps streams)', () => {
    const topics = new Topics<object>();
    const one = {};
    const other = {};
    topics.subscribe(one, 't');
    expect(topics.members('t').has(other)).to.equal(false);
    expect(topics.subscribe(other, 't')).to.equal(true);
    expect(topics.members('t').size).to.equal(2);
  });
});
