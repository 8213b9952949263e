const http = require('http'); const net = require('net');
const { connect, handleUpgrade } = require('../dist/lib/index.js');
const N = +(process.argv[3] || 30000);
async function ours() {
  const server = http.createServer();
  server.on('upgrade', (req, socket, head) => { const ws = handleUpgrade(req, socket, head); ws.on('message', (d, b) => ws.send(d, { binary: b })); });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const c = await connect(`ws://127.0.0.1:${server.address().port}/`);
  let n = 0; const t0 = process.hrtime.bigint(); const c0 = process.cpuUsage();
  await new Promise((resolve) => { c.on('message', () => { if (++n === N) resolve(); else c.send('sixteen-bytes-ok'); }); c.send('sixteen-bytes-ok'); });
  const cu = process.cpuUsage(c0); const us = (cu.user + cu.system) / N;
  c.terminate(); server.close(); return us;
}
async function raw() {
  const server = net.createServer((s) => { s.setNoDelay(true); s.on('data', (d) => s.write(d)); });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const c = net.connect(server.address().port, '127.0.0.1'); c.setNoDelay(true);
  await new Promise((r) => c.on('connect', r));
  const b = Buffer.from('sixteen-bytes-ok');
  let n = 0; const t0 = process.hrtime.bigint(); const c0 = process.cpuUsage();
  await new Promise((resolve) => { c.on('data', () => { if (++n === N) resolve(); else c.write(b); }); c.write(b); });
  const cu = process.cpuUsage(c0); const us = (cu.user + cu.system) / N;
  c.destroy(); server.close(); return us;
}
(async () => {
  const which = process.argv[2] || 'both';
  for (let i = 0; i < 3; i++) {
    const r = which !== 'ours' ? await raw() : 0; const o = which !== 'raw' ? await ours() : 0;
    console.log(`raw ${r.toFixed(1)} µs cpu/rt  ours ${o.toFixed(1)} µs cpu/rt  ours/raw speed ${(r / o).toFixed(2)}`);
  }
})();
