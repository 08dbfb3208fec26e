// Connection cuts, and delivery segment by segment, for the harness's shaped link. `cargo xtask
// bench` copies the harness's own proxy to `proxy-harness.mjs` and this file to `proxy.mjs` in
// its copies of the harness, so bench.mjs starts this file with the same arguments and IPC
// channel; it loads the harness's proxy unchanged and adds the cuts, and on the shaped link
// delivers in order and segment by segment (below). The harness in shared/ is not touched.
// `node bench/proxy-cuts-check.mjs` checks this file against the harness's proxy.
//
// Two schedules of cuts, both only with --shape (on loopback this file behaves exactly like the
// harness's proxy), both restarted at every measurement window (the harness's `reset` message),
// so runs and peers are comparable:
//
// - LIANXIN_PROXY_CUT_EVERY_MS=20000 (the weak link): every 20 s all open connections, client
//   side and server side, are reset (RST) and destroyed; a window of T ms holds
//   floor(T / 20000) cuts.
// - LIANXIN_PROXY_HOSTILE_SEED=N (the hostile link, issue 12): a seeded random schedule. The link
//   stays up for 3–10 s (uniform), then every open connection is reset, then for 1–5 s every new
//   connection is refused (reset at accept, before the server is dialled), then up again, and so
//   on. The same seed gives the same schedule in every window and for every peer. It starts at
//   the first window: the set-up before it (logins, offline creation) meets no cuts.
//
// In a cut, data still "on the link" (segments the shaper holds back for their delay; see "Segment
// by segment" below: what arrived before the cut has been delivered) is lost: the shaper only
// writes to sockets that are not destroyed. Clients see their connection reset and have to
// reconnect (paying the handshake round trip again) and resend what was lost.
//
// LIANXIN_PROXY_LOG=FILE (optional): one JSON line per cut and per end of a refusal, with the
// window (0 before the first `reset`, then 1, 2, … in the harness's window order), so a report
// can say how many cuts and refusals fell into each window.
//
// Counters are the harness's: bytes are counted when the proxy reads them from the sender,
// before the shaper delays them, so bytes lost in a cut count as sent (they were on the air),
// and whatever a peer resends after a cut counts again. A refused connection carries no bytes
// and is not counted as a connection.
import fs from 'node:fs'
import net from 'node:net'

// This file's own timers (the schedules) use Node's; the harness's proxy gets the ordered
// timers below.
const realSetTimeout = globalThis.setTimeout

const everyMs = Number(process.env.LIANXIN_PROXY_CUT_EVERY_MS || 0)
const hostileSeed = process.env.LIANXIN_PROXY_HOSTILE_SEED ?? ''
const hostile = hostileSeed !== ''
const shaped = process.argv.includes('--shape')

// The hostile schedule's bounds, in ms.
const UP_MS = [3000, 10000]
const REFUSE_MS = [1000, 5000]

// mulberry32, as the harness's workload uses.
function rng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
const between = (r, [lo, hi]) => lo + Math.floor(r() * (hi - lo + 1))

const reset = (socket) => {
  try {
    socket.resetAndDestroy()
  } catch {
    socket.destroy()
  }
}

if ((everyMs > 0 || hostile) && shaped) {
  const open = new Set()
  let refusing = false
  let refused = 0
  const track = (socket) => {
    open.add(socket)
    socket.once('close', () => open.delete(socket))
    return socket
  }
  // The harness's proxy makes one server (client side) and one net.connect per client
  // connection (server side); both are tracked. While refusing, a new client connection is
  // reset before the harness's proxy sees it.
  const createServer = net.createServer
  net.createServer = (...args) => {
    const i = args.findIndex((a) => typeof a === 'function')
    if (i >= 0) {
      const listener = args[i]
      args[i] = (socket) => {
        if (refusing) {
          refused++
          socket.on('error', () => {})
          reset(socket)
          return
        }
        listener(track(socket))
      }
    }
    return createServer.apply(net, args)
  }
  const connect = net.connect
  net.connect = (...args) => track(connect.apply(net, args))

  const logFile = process.env.LIANXIN_PROXY_LOG || ''
  if (logFile) fs.writeFileSync(logFile, '')
  let window = 0
  const record = (event) => {
    if (logFile) fs.appendFileSync(logFile, JSON.stringify({ window, ...event }) + '\n')
  }
  let cuts = 0
  let windowStart = performance.now()
  const at = () => ((performance.now() - windowStart) / 1000).toFixed(1)
  const cut = () => {
    cuts++
    const n = open.size
    for (const socket of [...open]) reset(socket)
    open.clear()
    record({ event: 'cut', atMs: Math.round(performance.now() - windowStart), sockets: n })
    console.error(`[proxy-cuts] cut ${cuts}: ${n} socket(s) reset at +${at()} s into the window`)
  }
  let timer = null
  // Hostile: up for 3–10 s, cut, refuse for 1–5 s, up again … (bounded by the window's life:
  // the harness stops the proxy at the end of the run).
  let r = null
  const upPhase = () => {
    timer = realSetTimeout(() => {
      cut()
      refusing = true
      const refuseMs = between(r, REFUSE_MS)
      console.error(`[proxy-cuts] refusing new connections for ${(refuseMs / 1000).toFixed(1)} s`)
      timer = realSetTimeout(() => {
        refusing = false
        record({ event: 'accepting', atMs: Math.round(performance.now() - windowStart), refusedMs: refuseMs, refused })
        console.error(`[proxy-cuts] accepting again at +${at()} s (${refused} refused so far)`)
        upPhase()
      }, refuseMs)
    }, between(r, UP_MS))
  }
  const start = () => {
    clearTimeout(timer)
    clearInterval(timer)
    refusing = false
    refused = 0
    cuts = 0
    windowStart = performance.now()
    if (hostile) {
      r = rng(Number(hostileSeed))
      upPhase()
    } else {
      timer = setInterval(cut, everyMs)
    }
  }
  // The 20 s cuts run from the start, as they always did; the hostile schedule waits for the
  // first window, so the set-up before it (the devices' logins) is not refused.
  if (!hostile) start()
  process.on('message', (m) => {
    if (m && m.cmd === 'reset') {
      window++
      start()
    }
  })
}

// In order delivery, segment by segment. Two changes to the harness's shaper, both only with
// --shape, for every peer and every shaped link alike (with or without cuts), through the
// harness's own timers; the shaper's arithmetic (when each read is due) is untouched.
//
// 1. In order. The shaper delivers each read of a connection at an absolute time, never before
//    the connection's previous read (`at = max(…, conn[dir])`), through `setTimeout(f, at -
//    now)`. Two reads due at the same time can fire out of order (Node keys a timer by a start
//    time rounded to the millisecond plus a fractional delay): a connection's bytes then reach
//    the other side reordered. It happens when a connection's first request is read in two
//    chunks (the first pays the handshake's extra round trip, so the second is due at the same
//    time): in the hostile run of 7 Dec 06:32 the server read a request's body before its head
//    and answered 400, which stops a device. Here the harness's timers fire in the order of
//    their due times, those due within a millisecond of each other in the order they were set.
//
// 2. Segment by segment. The shaper writes each read (one socket read: up to 64 KiB, as fast as
//    the sender wrote it on loopback) whole when its last byte is due, so a cut during a read's
//    transfer lost all of it, where a real link (TCP over the radio link) hands the receiver
//    each segment as it arrives and a cut loses only what is still in flight. Here each read is
//    written in segments of SEGMENT_BYTES (a TCP MSS over Ethernet framing), each when its own
//    last byte is due: the read's last segment at the shaper's time for the whole read, each
//    earlier one earlier by the time the link takes to carry the bytes after it (256 kbit/s:
//    ~46 ms a segment), never before the connection's previous segment nor before now. So a
//    read's end arrives exactly when it did (a link without cuts is as fast as before, to the
//    millisecond: the same bytes are whole at the same times), a new connection's handshake
//    round trip still delays every byte of its first read (the shaper adds it to that read's
//    time), and a read queued behind an earlier one (due no sooner than that one's end) still
//    arrives at once. What a receiver can do with a prefix changes: a sync server can keep a cut
//    request's complete pushes, a client can parse a stream's first frames sooner.
//
//    Splitting the reads before the shaper would not do: the shaper adds the handshake's round
//    trip to a connection's first read only, so the segments after the first would skip it
//    and a new connection's first request would arrive up to 600 ms sooner than it does.
//
// The hook: a connection's two sockets (the client's, accepted by the harness's server, and the
// one the harness's listener dials to the server, synchronously) are paired, their 'data'
// listeners wrapped, and the one timer the harness's `send` sets while a read is being handled
// is replaced by the read's segments, written to the paired socket unless it is destroyed (the
// shaper's own check). Counters are untouched: the harness counts each read when it is read.
const SEGMENT_BYTES = 1460
if (shaped) {
  const rate = process.argv[process.argv.indexOf('--shape') + 1].split(',').map(Number)[1]
  const msPerByte = 8 / rate // kbit/s == bit/ms

  const queue = [] // { due, fn, args }, in firing order
  let armed = null
  let armedDue = Infinity
  const fire = () => {
    armed = null
    armedDue = Infinity
    while (queue.length && queue[0].due <= performance.now() + 1) {
      const t = queue.shift()
      t.fn(...t.args)
    }
    arm()
  }
  const arm = () => {
    if (!queue.length || (armed && armedDue <= queue[0].due)) return
    if (armed) clearTimeout(armed)
    armedDue = queue[0].due
    armed = realSetTimeout(fire, Math.max(0, armedDue - performance.now()))
  }
  const enqueue = (t) => {
    let i = queue.length
    while (i > 0 && queue[i - 1].due > t.due + 1) i--
    queue.splice(i, 0, t)
    arm()
    return t
  }

  const peerOf = new WeakMap() // socket -> the other socket of its connection
  const lastDue = new WeakMap() // reading socket -> due time of its last segment so far
  let reading = null // { from, piece } while the harness handles a read
  let accepting = null // the client socket while the harness's listener runs
  const segmented = (socket) => {
    const on = socket.on
    socket.on = function (event, listener, ...rest) {
      if (event !== 'data') return on.call(this, event, listener, ...rest)
      return on.call(
        this,
        event,
        (piece) => {
          reading = { from: socket, piece }
          try {
            listener(piece)
          } finally {
            reading = null
          }
        },
        ...rest,
      )
    }
    return socket
  }
  const segments = ({ from, piece }, due) => {
    const to = peerOf.get(from)
    let last = Math.max(lastDue.get(from) ?? 0, performance.now())
    let t = null
    for (let start = 0; start < piece.length; start += SEGMENT_BYTES) {
      const end = Math.min(piece.length, start + SEGMENT_BYTES)
      const segment = piece.subarray(start, end)
      last = Math.max(last, due - (piece.length - end) * msPerByte)
      t = enqueue({
        due: last,
        fn: () => {
          if (to && !to.destroyed) to.write(segment)
        },
        args: [],
      })
    }
    lastDue.set(from, last)
    return t
  }

  const createServer = net.createServer
  net.createServer = (...args) => {
    const i = args.findIndex((a) => typeof a === 'function')
    if (i >= 0) {
      const listener = args[i]
      args[i] = (socket) => {
        accepting = segmented(socket)
        try {
          listener(socket)
        } finally {
          accepting = null
        }
      }
    }
    return createServer.apply(net, args)
  }
  const connect = net.connect
  net.connect = (...args) => {
    const socket = connect.apply(net, args)
    if (accepting) {
      peerOf.set(accepting, socket)
      peerOf.set(socket, accepting)
      segmented(socket)
    }
    return socket
  }

  globalThis.setTimeout = (fn, ms = 0, ...args) => {
    const due = performance.now() + Math.max(0, Number(ms) || 0)
    if (reading && peerOf.has(reading.from)) {
      const read = reading
      reading = null // one delivery per read
      return segments(read, due)
    }
    return enqueue({ due, fn, args })
  }
}

await import('./proxy-harness.mjs')
