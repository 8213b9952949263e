/** The DOMException a call throws (the WHATWG APIs' errors), failing the test when it throws none or another kind. */
import { expect } from 'chai';

export function thrown(fn: () => unknown): DOMException {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(DOMException);
    return error as DOMException;
  }
  throw new Error('expected a DOMException');
}
