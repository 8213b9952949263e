/**
 * Extension parameters as the handshake layer hands them to an extension: `a; b=1` parsed
 * into `{ name, params: [['a', null], ['b', '1']] }` (`true` or null: no parameters).
 */
import type { ExtensionParams } from '../../lib/extensions/extension';

export function params(text: string | true | null, name = 'permessage-deflate'): ExtensionParams {
  const list = (typeof text === 'string' ? text : '')
    .split(';')
    .map((p) => p.trim())
    .filter((p) => p !== '')
    .map((p): readonly [string, string | null] => {
      const eq = p.indexOf('=');
      return eq < 0 ? [p, null] : [p.slice(0, eq), p.slice(eq + 1)];
    });
  return { name, params: list };
}
