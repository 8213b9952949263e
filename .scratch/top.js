const p = JSON.parse(require('fs').readFileSync(process.argv[2]));
const self = new Map(); const byId = new Map(p.nodes.map(n => [n.id, n]));
const dt = {}; p.samples.forEach((id, i) => { dt[id] = (dt[id] || 0) + (p.timeDeltas[i] || 0); });
let total = 0;
for (const n of p.nodes) { const t = dt[n.id] || 0; total += t; const cf = n.callFrame; const k = `${cf.functionName || '(anon)'} ${cf.url.replace(/.*\/(node_modules|lib|dist)\//, '$1/')}:${cf.lineNumber}`; self.set(k, (self.get(k) || 0) + t); }
console.log('total ms', (total / 1000).toFixed(0));
[...self].sort((a, b) => b[1] - a[1]).slice(0, +(process.argv[3] || 35)).forEach(([k, t]) => console.log((t / total * 100).toFixed(1).padStart(5) + '%', k));
