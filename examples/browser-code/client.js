// Browser code, as a page would load it with <script src="client.js">: no imports, no
// Node, only the global WebSocket, Blob and TextDecoder. examples/browser-code/main.ts runs
// this same file in Node on wsproto's WebSocket, and serves it to browsers.
/* global WebSocket, Blob, TextDecoder */
/* exported runClient */

/** Talk to the echo service at `url`; `log(line)` for every step; resolves when closed. */
function runClient(url, log) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, ['echo.v1']);
    ws.binaryType = 'arraybuffer';
    log(`connecting to ${ws.url} (readyState ${ws.readyState})`);
    try {
      ws.send('too early');
    } catch (error) {
      log(`send before open: ${error.name}`);
    }
    ws.addEventListener('open', () => {
      log(`open: protocol ${ws.protocol}, readyState ${ws.readyState}`);
      ws.send('hello');
      ws.send(new Uint8Array([104, 105]));
      ws.send(new Blob(['a blob']));
      log(`bufferedAmount right after three sends: ${ws.bufferedAmount}`);
    });
    let received = 0;
    ws.onmessage = (event) => {
      const text =
        typeof event.data === 'string' ? `text "${event.data}"` : `binary "${new TextDecoder().decode(event.data)}"`;
      log(`message: ${text}`);
      if (++received === 3) {
        try {
          ws.close(1001);
        } catch (error) {
          log(`close(1001): ${error.name}`);
        }
        ws.close(1000, 'done');
        log(`closing: readyState ${ws.readyState}`);
      }
    };
    ws.onerror = () => log('error');
    ws.onclose = (event) => {
      log(`close: ${event.code} "${event.reason}" wasClean=${event.wasClean}, readyState ${ws.readyState}`);
      resolve();
    };
  });
}
