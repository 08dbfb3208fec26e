// The photo bench's link (issue 14, `cargo xtask bench --photos-only`): the harness's proxy
// with bench/proxy-cuts.mjs's cuts and segment-by-segment shaper, unchanged, started by the
// xtask without the harness. The xtask copies the harness's proxy.mjs to proxy-harness.mjs and
// bench/proxy-cuts.mjs beside this file, and runs `node photo-proxy.mjs --listen … --target …
// [--shape 300,256]` with the cut schedule in the environment as the harness would.
//
// In place of the harness's IPC channel, one command a line on stdin, one JSON answer a line on
// stdout:
// - `reset`: a new measurement window (the harness's `reset`: its counters restart and so does
//   proxy-cuts' schedule); answers `{"window": n}`.
// - `snapshot`: the harness's counters for the window so far (bytes up are counted when the
//   proxy reads them from the browser: bytes lost in a cut count as sent), the cuts of this
//   window (proxy-cuts' log, LIANXIN_PROXY_LOG), and every request to /api/uploads the browser
//   sent up in it: `{method, path, off (Upload-Offset), len (Content-Length), got (body bytes the
//   proxy read), conn, atMs}`.
// - `down` / `up`: no signal (every open connection reset, new ones refused) / signal back.
// The first line out is `{"ready": true}` once the proxy listens. The proxy exits when stdin
// closes.
//
// The tap that logs the uploads is the innermost listener: it sees a connection only once
// proxy-cuts has accepted it, and reads the same bytes the harness counts, in the same 'data'
// events. It sets no timer (proxy-cuts takes the first timer set while a read is handled for
// that read's delivery).
import fs from 'node:fs'
import net from 'node:net'
import readline from 'node:readline'

const logFile = process.env.LIANXIN_PROXY_LOG || ''
let window = 0
let windowStart = performance.now()
let uploads = []
let down = false
let conns = 0
const open = new Set()

const tap = (socket) => {
  const conn = ++conns
  let head = Buffer.alloc(0)
  let request = null
  let left = 0
  socket.on('data', (d) => {
    let piece = d
    while (piece.length) {
      if (left > 0) {
        const n = Math.min(left, piece.length)
        if (request) request.got += n
        left -= n
        piece = piece.subarray(n)
        continue
      }
      head = head.length ? Buffer.concat([head, piece]) : piece
      piece = Buffer.alloc(0)
      const end = head.indexOf('\r\n\r\n')
      if (end < 0) return
      const lines = head.subarray(0, end).toString('latin1').split('\r\n')
      piece = head.subarray(end + 4)
      head = Buffer.alloc(0)
      const [method, path] = lines[0].split(' ')
      const header = (name) => {
        const line = lines.find((l) => l.toLowerCase().startsWith(name + ':'))
        return line === undefined ? null : line.slice(name.length + 1).trim()
      }
      left = Number(header('content-length') || 0)
      const off = header('upload-offset')
      request = null
      if (path && path.startsWith('/api/uploads')) {
        request = {
          method,
          path,
          off: off === null ? null : Number(off),
          len: left,
          got: 0,
          conn,
          atMs: Math.round(performance.now() - windowStart),
        }
        uploads.push(request)
      }
    }
  })
}

const createServer = net.createServer
net.createServer = (...args) => {
  const i = args.findIndex((a) => typeof a === 'function')
  if (i >= 0) {
    const listener = args[i]
    args[i] = (socket) => {
      if (down) {
        socket.on('error', () => {})
        socket.destroy()
        return
      }
      open.add(socket)
      socket.once('close', () => open.delete(socket))
      tap(socket)
      listener(socket)
    }
  }
  return createServer.apply(net, args)
}

// The harness's proxy answers its parent through process.send.
const waiting = new Map()
let nextId = 1
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n')
if (!process.send) {
  process.send = (m) => {
    if (m && m.ready) say({ ready: true })
    else if (m && waiting.has(m.id)) {
      waiting.get(m.id)(m.counters)
      waiting.delete(m.id)
    }
    return true
  }
}
const ask = (cmd) =>
  new Promise((resolve) => {
    const id = nextId++
    waiting.set(id, resolve)
    process.emit('message', { cmd, id })
  })

const cutsOfWindow = () => {
  if (!logFile) return 0
  let text = ''
  try {
    text = fs.readFileSync(logFile, 'utf8')
  } catch {
    return 0
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .filter((e) => e.window === window && e.event === 'cut').length
}

readline.createInterface({ input: process.stdin }).on('line', async (line) => {
  const cmd = line.trim()
  if (cmd === 'reset') {
    await ask('reset')
    window++
    windowStart = performance.now()
    uploads = []
    say({ window })
  } else if (cmd === 'snapshot') {
    const counters = await ask('snapshot')
    say({ window, ms: performance.now() - windowStart, counters, cuts: cutsOfWindow(), uploads })
  } else if (cmd === 'down' || cmd === 'up') {
    down = cmd === 'down'
    if (down) for (const s of [...open]) s.destroy()
    say({ down })
  }
})
process.stdin.on('close', () => process.exit(0))

await import('./proxy-cuts.mjs')
