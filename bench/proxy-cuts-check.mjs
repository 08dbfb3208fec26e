// Checks bench/proxy-cuts.mjs against the harness's proxy it wraps: `node bench/proxy-cuts-check.mjs
// [HARNESS_DIR]` (default ../shared/bench/peers beside the workspace; about 30 s). It runs the
// same scripted exchanges through the harness's proxy alone and through ours (which loads the
// harness's, as `cargo xtask bench` sets it up), against a small TCP server that records when
// each byte arrives, and checks, on loopback and on the shaped link (300 ms / 256 kbit/s):
//
// 1. every connection's bytes arrive whole and in order, each way, and the proxy's counters
//    (bytes each way, connections, HTTP requests) are the same as the harness's;
// 2. on the shaped link without cuts, each message is whole at the same time as through the
//    harness's proxy (within TOLERANCE_MS), a new connection's first request included (it pays
//    the handshake's round trip), so the link is not made faster;
// 3. on the shaped link, a long message arrives progressively: its first segment more than a
//    second before its last byte (the harness's shaper delivers each read whole at its end);
// 4. with the hostile schedule, a cut during a message's transfer has delivered what was on the
//    link before it: a prefix of the message, of the size the link carried (the harness's
//    shaper delivers nothing of a read cut before its end).
//
// Exits 1 with the failed checks listed.
import { fork } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const harnessDir = path.resolve(process.argv[2] ?? path.join(here, '..', '..', 'shared', 'bench', 'peers'))
const SHAPE = '300,256'
const BYTES_PER_MS = 256 / 8
const TOLERANCE_MS = 30

// Our proxy as the bench runs it: beside the harness's, renamed.
const ours = fs.mkdtempSync(path.join(os.tmpdir(), 'proxy-cuts-check-'))
fs.copyFileSync(path.join(harnessDir, 'proxy.mjs'), path.join(ours, 'proxy-harness.mjs'))
fs.copyFileSync(path.join(here, 'proxy-cuts.mjs'), path.join(ours, 'proxy.mjs'))
const PROXIES = { harness: path.join(harnessDir, 'proxy.mjs'), ours: path.join(ours, 'proxy.mjs') }

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const bytes = (n, seed) => {
  const out = Buffer.alloc(n)
  for (let i = 0; i < n; i += 32) crypto.createHash('sha256').update(`${seed}:${i}`).digest().copy(out, i)
  return out
}
const free = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })

// The server: per connection, what arrived and when (ms since `t0`); it answers each expected
// request once it is whole. `exchanges` maps a connection's first byte to its exchange.
function startServer(t0, exchanges) {
  const conns = []
  const server = net.createServer((socket) => {
    const conn = { got: [], at: [], reset: false }
    conns.push(conn)
    let total = 0
    let step = 0
    let exchange = null
    socket.on('data', (d) => {
      conn.got.push(d)
      total += d.length
      conn.at.push({ bytes: total, ms: performance.now() - t0.ms })
      if (!exchange) exchange = exchanges[Buffer.concat(conn.got).subarray(0, 1).toString()]
      let need = 0
      for (let i = 0; i <= step && exchange && i < exchange.length; i++) need += exchange[i].request.length
      if (exchange && step < exchange.length && total >= need) {
        if (exchange[step].response) socket.write(exchange[step].response)
        step++
      }
    })
    socket.on('error', () => {
      conn.reset = true
    })
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, conns, port: server.address().port })))
}

function startProxy(file, listen, target, shaped, env = {}) {
  const args = ['--listen', `127.0.0.1:${listen}`, '--target', `127.0.0.1:${target}`]
  if (shaped) args.push('--shape', SHAPE)
  const proc = fork(file, args, { env: { ...process.env, LIANXIN_PROXY_CUT_EVERY_MS: '0', ...env }, stdio: ['ignore', 'ignore', 'ignore', 'ipc'] })
  let next = 0
  const waiting = new Map()
  const ready = new Promise((resolve) => {
    proc.on('message', (m) => {
      if (m.ready) resolve()
      else if (waiting.has(m.id)) waiting.get(m.id)(m.counters)
    })
  })
  const call = (cmd) =>
    new Promise((resolve) => {
      const id = ++next
      waiting.set(id, resolve)
      proc.send({ cmd, id })
    })
  return { proc, ready, call }
}

// A client connection running one exchange: each request sent once the previous response is
// whole (the first at `startMs`); records when each response is whole.
function client(port, t0, exchange, startMs) {
  return new Promise((resolve) => {
    setTimeout(() => {
      const socket = net.connect(port, '127.0.0.1')
      const got = []
      const done = []
      let total = 0
      let step = 0
      socket.on('connect', () => socket.write(exchange[0].request))
      socket.on('data', (d) => {
        got.push(d)
        total += d.length
        let need = 0
        for (let i = 0; i <= step; i++) need += exchange[i].response.length
        if (total >= need) {
          done.push(performance.now() - t0.ms)
          step++
          if (step < exchange.length) socket.write(exchange[step].request)
          else socket.end()
        }
      })
      const finish = () => resolve({ got: Buffer.concat(got), done })
      socket.on('close', finish)
      socket.on('error', () => {})
    }, startMs)
  })
}

// Connection "a" (tag P): a 40 KB HTTP request on a new connection (pays the handshake), a
// 30 KB answer, a 20 KB request on the same connection, a 5 KB answer. Connection "b" (tag G),
// from 0.5 s: 10 KB up, 70 KB down (over one socket read).
const http = (line, size, seed) => {
  const head = (n) => Buffer.from(`${line} HTTP/1.1\r\nhost: x\r\ncontent-length: ${n}\r\n\r\n`)
  const body = size - head(size).length
  return Buffer.concat([head(body), bytes(body, seed)])
}
const EXCHANGES = {
  P: [
    { request: http('POST /a1', 40_000, 'a1'), response: bytes(30_000, 'A1') },
    { request: http('POST /a2', 20_000, 'a2'), response: bytes(5_000, 'A2') },
  ],
  G: [{ request: http('GET /b1', 10_000, 'b1'), response: bytes(70_000, 'B1') }],
}

async function exchangeRun(which, shaped) {
  const t0 = { ms: 0 } // times count from the first client's start
  const srv = await startServer(t0, EXCHANGES)
  const listen = await free()
  const proxy = startProxy(PROXIES[which], listen, srv.port, shaped)
  await proxy.ready
  t0.ms = performance.now()
  const [P, G] = await Promise.all([client(listen, t0, EXCHANGES.P, 0), client(listen, t0, EXCHANGES.G, 500)])
  await sleep(shaped ? 1000 : 100)
  const counters = await proxy.call('snapshot')
  proxy.proc.kill()
  srv.server.close()
  return { P, G, conns: srv.conns, counters }
}

const failures = []
const check = (ok, what) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`)
  if (!ok) failures.push(what)
}
const concat = (parts) => Buffer.concat(parts.map((p) => p.request))
const arrivedAt = (conn, n) => conn.at.find((x) => x.bytes >= n)?.ms

for (const shaped of [false, true]) {
  const link = shaped ? 'shaped' : 'loopback'
  const h = await exchangeRun('harness', shaped)
  const o = await exchangeRun('ours', shaped)
  const serverConn = (run, tag) => run.conns.find((c) => c.got.length && c.got[0][0] === tag.charCodeAt(0))
  for (const [name, run] of [['harness', h], ['ours', o]]) {
    for (const tag of ['P', 'G']) {
      const conn = serverConn(run, tag)
      const up = conn && Buffer.concat(conn.got)
      const down = Buffer.concat(EXCHANGES[tag].map((x) => x.response))
      check(
        up?.equals(concat(EXCHANGES[tag])) && run[tag].got.equals(down),
        `${link}, ${name}: connection ${tag === 'P' ? 'a' : 'b'}'s bytes arrive whole and in order, both ways`,
      )
    }
  }
  const same = ['bytesUp', 'bytesDown', 'connections', 'httpRequests'].every((k) => h.counters[k] === o.counters[k])
  check(same, `${link}: counters as the harness's (${JSON.stringify(o.counters)} against ${JSON.stringify(h.counters)})`)
  if (!shaped) continue
  // 2. The same completion times.
  const times = (run) => {
    const a = serverConn(run, 'P')
    const b = serverConn(run, 'G')
    const a1 = EXCHANGES.P[0].request.length
    return {
      'a: 40 KB request whole (new connection)': arrivedAt(a, a1),
      'a: 30 KB answer whole': run.P.done[0],
      'a: 20 KB request whole': arrivedAt(a, a1 + EXCHANGES.P[1].request.length),
      'a: 5 KB answer whole': run.P.done[1],
      'b: 10 KB request whole (new connection)': arrivedAt(b, EXCHANGES.G[0].request.length),
      'b: 70 KB answer whole': run.G.done[0],
    }
  }
  const th = times(h)
  const to = times(o)
  for (const k of Object.keys(th)) {
    check(
      Math.abs(to[k] - th[k]) <= TOLERANCE_MS,
      `shaped, no cuts: ${k} at ${to[k]?.toFixed(0)} ms, the harness's ${th[k]?.toFixed(0)} ms`,
    )
  }
  // 3. Progressive: the 40 KB request's first bytes arrive long before its last.
  const a = serverConn(o, 'P')
  const first = a.at[0].ms
  const whole = arrivedAt(a, EXCHANGES.P[0].request.length)
  check(
    whole - first >= 1000 && a.at[0].bytes <= 1460,
    `shaped: the 40 KB request arrives progressively (first ${a.at[0].bytes} B ${(whole - first).toFixed(0)} ms before its last)`,
  )
}

// 4. A cut mid-transfer. The hostile schedule (seed 12) cuts every connection UP ms after the
// window starts (the proxy's log says when); a connection opened just after the window starts
// sends a 1-byte hello (it pays the handshake), then 60 KB ~1 s before the cut: the link
// carries (cut - sent - 300 ms) × 32 B/ms of it by the cut.
async function cutRun(which) {
  const t0 = { ms: performance.now() }
  const srv = await startServer(t0, {})
  const listen = await free()
  const log = path.join(ours, `${which}.cuts.jsonl`)
  const proxy = startProxy(PROXIES[which], listen, srv.port, true, { LIANXIN_PROXY_HOSTILE_SEED: '12', LIANXIN_PROXY_LOG: log })
  await proxy.ready
  await proxy.call('reset')
  const windowStart = performance.now()
  // The first up period of seed 12, as proxy-cuts.mjs draws it.
  let s = 12 >>> 0
  s = (s + 0x6d2b79f5) >>> 0
  let t = s
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  const upMs = 3000 + Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 7001)
  const socket = net.connect(listen, '127.0.0.1')
  socket.on('error', () => {})
  socket.write('x')
  const message = bytes(60_000, 'cut')
  await sleep(upMs - 1000)
  const sentAt = performance.now() - windowStart
  socket.write(message)
  await sleep(2500)
  const cut = fs.existsSync(log) ? JSON.parse(fs.readFileSync(log, 'utf8').split('\n')[0] || 'null') : null
  const counters = await proxy.call('snapshot')
  proxy.proc.kill()
  srv.server.close()
  const got = Buffer.concat(srv.conns[0]?.got ?? []).subarray(1)
  return { got, message, cutMs: cut?.atMs ?? upMs, sentAt, counters }
}
{
  const r = await cutRun('ours')
  const carried = (r.cutMs - r.sentAt - 300) * BYTES_PER_MS
  check(
    r.got.equals(r.message.subarray(0, r.got.length)) && Math.abs(r.got.length - carried) <= 2 * 1460 + TOLERANCE_MS * BYTES_PER_MS,
    `hostile: a cut ${(r.cutMs - r.sentAt).toFixed(0)} ms into a 60 KB message has delivered its first ${r.got.length} B (the link carried ~${carried.toFixed(0)} B)`,
  )
  check(r.counters.bytesUp === 60_001, `hostile: the cut message counts whole as sent (${r.counters.bytesUp} B up)`)
}

fs.rmSync(ours, { recursive: true, force: true })
if (failures.length) {
  console.log(`\n${failures.length} check(s) failed`)
  process.exit(1)
}
console.log('\nall checks passed')
