// The harness's server program for the Lianxin peer: starts the real server binary
//   lianxin-server serve --db $DATA_DIR/lianxin.db --listen $HOST:$PORT
// and answers the harness's IPC (expect, check, read, stop) by reading the SQLite file through
// `lianxin-bench-client inspect --db FILE` (Rust: the store's own code decodes the documents).
// Env: HOST, PORT, DATA_DIR; LIANXIN_BIN_DIR (default target/release beside the harness copy).
//
// Server memory: the harness measures the peak RSS of THIS process (a Node wrapper), not of
// lianxin-server. So the wrapper watches its own VmHWM: when the harness resets it through
// /proc/PID/clear_refs at the start of a window, the wrapper sees its HWM drop, resets the
// server's HWM the same way, and logs the server's peak of the window that just ended to
// $DATA_DIR.server-rss.jsonl (one line per window, in window order; outside DATA_DIR, so the
// disk figure is the database's alone). BENCHMARKS.md uses these figures.
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import readline from 'node:readline'
import v8 from 'node:v8'
import vm from 'node:vm'
import { fileURLToPath } from 'node:url'
import * as W from '../workload.mjs'
import { loginFor } from './lianxin.mjs'

const HOST = process.env.HOST ?? '127.0.0.1'
const PORT = parseInt(process.env.PORT ?? '8080')
const DATA_DIR = path.resolve(process.env.DATA_DIR ?? 'lianxin-data')
const BIN = process.env.LIANXIN_BIN_DIR || fileURLToPath(new URL('../../../release/', import.meta.url))
fs.mkdirSync(DATA_DIR, { recursive: true })
const db = path.join(DATA_DIR, 'lianxin.db')
const rssLog = DATA_DIR.replace(/\/+$/, '') + '.server-rss.jsonl'
fs.writeFileSync(rssLog, '')
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

// ---- the directory: officers with 包联 assignments, written before the server starts ----
// A and B (bench-a, bench-b) are assigned every enterprise of the workload; S4's client c
// (bench-c<c>) the enterprises of its 20 visits, so it receives those (and only those).
{
  const docs = Array.from({ length: W.params.docs }, (_, i) => W.makeVisit(i))
  const all = docs.map((d) => d.enterpriseId)
  const users = [{ login: loginFor('A'), enterprises: all }, { login: loginFor('B'), enterprises: all }]
  for (let c = 0; c < W.params.s4Clients; c++) users.push({ login: loginFor(`C${c}`), enterprises: W.s4Docs(c).map((i) => docs[i].enterpriseId) })
  const r = spawnSync(path.join(BIN, 'lianxin-bench-client'), ['setup', '--db', db], { input: JSON.stringify({ users }), stdio: ['pipe', 'inherit', 'inherit'] })
  if (r.status !== 0) { console.error('[lianxin-server.mjs] setup failed'); process.exit(1) }
}

const server = spawn(path.join(BIN, 'lianxin-server'),
  ['serve', '--db', db, '--listen', `${HOST}:${PORT}`, '--site', path.join(path.dirname(DATA_DIR), 'no-site')],
  { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn', NO_COLOR: '1' } })
let serverExited = false
const serverExit = new Promise((r) => server.on('exit', (code, signal) => { serverExited = true; r(code ?? signal) }))
server.on('exit', (code, signal) => { if (!stopping) console.error(`[lianxin-server.mjs] lianxin-server exited (${code ?? signal})`) })

// ---- the inspector: reads the database file, answers in JSON lines ----
let inspector = null
function startInspector() {
  const proc = spawn(path.join(BIN, 'lianxin-bench-client'), ['inspect', '--db', db], { stdio: ['pipe', 'pipe', 'inherit'] })
  const waiters = new Map()
  let next = 1
  readline.createInterface({ input: proc.stdout }).on('line', (line) => {
    const m = JSON.parse(line)
    const w = waiters.get(m.id)
    if (w) { waiters.delete(m.id); m.error ? w.reject(new Error(m.error)) : w.resolve(m) }
  })
  proc.on('exit', (code) => { for (const w of waiters.values()) w.reject(new Error(`inspector exited (${code})`)); waiters.clear() })
  return {
    proc,
    call: (msg) => new Promise((resolve, reject) => {
      const id = next++
      waiters.set(id, { resolve, reject })
      proc.stdin.write(JSON.stringify({ ...msg, id }) + '\n')
    }),
  }
}

// ---- the server's peak RSS per harness window ----
const status = (pid) => { try { return fs.readFileSync(`/proc/${pid}/status`, 'utf8') } catch { return '' } }
const kB = (text, key) => { const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text); return m ? +m[1] : 0 }
v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc')
// Keeps this process's HWM above its RSS, so that the harness's reset shows as a drop.
function raiseOwnHwm() { let b = Buffer.alloc(48 << 20, 1); b[0] = 2; b = null; gc() }
raiseOwnHwm()
let ownHwm = kB(status('self'), 'VmHWM')
let window = 0
let sampledMax = 0
function closeWindow(reason) {
  if (window === 0) return
  const s = status(server.pid)
  const rec = { window, peakKB: Math.max(kB(s, 'VmHWM'), sampledMax), rssNowKB: kB(s, 'VmRSS'), closedBy: reason, at: Date.now() }
  fs.appendFileSync(rssLog, JSON.stringify(rec) + '\n')
}
const watcher = setInterval(() => {
  const own = kB(status('self'), 'VmHWM')
  if (own && own < ownHwm - 8 * 1024) {
    closeWindow('next window')
    window++
    try { fs.writeFileSync(`/proc/${server.pid}/clear_refs`, '5') } catch {}
    sampledMax = kB(status(server.pid), 'VmRSS')
    raiseOwnHwm()
    ownHwm = kB(status('self'), 'VmHWM')
  } else if (own > ownHwm) ownHwm = own
  const rss = kB(status(server.pid), 'VmRSS')
  if (rss > sampledMax) sampledMax = rss
}, 20)

// ---- start: wait for /healthz, then open the inspector on the database ----
async function waitHealthy() {
  for (let i = 0; i < 600; i++) {
    if (serverExited) throw new Error('lianxin-server exited during startup')
    try { const r = await fetch(`http://${HOST}:${PORT}/healthz`); if (r.ok) return } catch {}
    await sleep(50)
  }
  throw new Error('lianxin-server did not answer /healthz within 30 s')
}

let stopping = false
async function stop() {
  if (stopping) return
  stopping = true
  clearInterval(watcher)
  closeWindow('stop')
  try { inspector?.proc.stdin.end() } catch {}
  server.kill('SIGTERM')
  await Promise.race([serverExit, sleep(10000)])
  if (!serverExited) server.kill('SIGKILL')
}

process.on('message', async (m) => {
  try {
    if (m.cmd === 'expect') { await inspector.call({ cmd: 'expect', expected: m.expected }); process.send({ id: m.id, ok: true }) }
    else if (m.cmd === 'check') { const r = await inspector.call({ cmd: 'check' }); process.send({ id: m.id, matching: r.matching, total: r.total }) }
    else if (m.cmd === 'read') { const r = await inspector.call({ cmd: 'read', ids: m.ids }); process.send({ id: m.id, docs: r.docs }) }
    else if (m.cmd === 'stop') { await stop(); process.send({ id: m.id, ok: true }); setTimeout(() => process.exit(0), 50) }
  } catch (e) { process.send({ id: m.id, error: String((e && e.stack) || e) }) }
})
process.on('disconnect', async () => { await stop(); process.exit(0) })
process.on('SIGTERM', async () => { await stop(); process.exit(0) })

try {
  await waitHealthy()
  inspector = startInspector()
  process.send?.({ ready: true })
} catch (e) {
  console.error('[lianxin-server.mjs]', e.message)
  await stop()
  process.exit(1)
}
