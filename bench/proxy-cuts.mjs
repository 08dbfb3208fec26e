// Connection cuts for the harness's shaped link. `cargo xtask bench` copies the harness's own
// proxy to `proxy-harness.mjs` and this file to `proxy.mjs` in its copy of the harness, so
// bench.mjs starts this file with the same arguments and IPC channel; it loads the harness's
// proxy unchanged and only adds the cuts. The harness in shared/ is not touched.
//
// LIANXIN_PROXY_CUT_EVERY_MS=20000 (environment, inherited from bench.mjs) together with
// --shape: every 20 s all open connections, client side and server side, are reset (RST) and
// destroyed. Data still "on the link" (chunks the shaper holds back for their delay) is lost:
// the shaper only writes to sockets that are not destroyed. Clients see their connection reset
// and have to reconnect (paying the handshake round trip again) and resend what was lost.
//
// The schedule is deterministic, not random, so runs and peers are comparable: it restarts at
// every measurement window (the harness's `reset` message), so a cut falls at 20 s, 40 s, … into
// every window, and a window of T ms holds floor(T / 20000) cuts. Without the variable, or
// without --shape (loopback), this file behaves exactly like the harness's proxy.
//
// Counters are the harness's: bytes are counted when the proxy reads them from the sender,
// before the shaper delays them, so bytes lost in a cut count as sent (they were on the air),
// and whatever a peer resends after a cut counts again.
import net from 'node:net'

const everyMs = Number(process.env.LIANXIN_PROXY_CUT_EVERY_MS || 0)
const shaped = process.argv.includes('--shape')

if (everyMs > 0 && shaped) {
  const open = new Set()
  const track = (socket) => {
    open.add(socket)
    socket.once('close', () => open.delete(socket))
    return socket
  }
  // The harness's proxy makes one server (client side) and one net.connect per client
  // connection (server side); both are tracked.
  const createServer = net.createServer
  net.createServer = (...args) => {
    const i = args.findIndex((a) => typeof a === 'function')
    if (i >= 0) {
      const listener = args[i]
      args[i] = (socket) => listener(track(socket))
    }
    return createServer.apply(net, args)
  }
  const connect = net.connect
  net.connect = (...args) => track(connect.apply(net, args))

  let cuts = 0
  let windowStart = performance.now()
  const cut = () => {
    cuts++
    const n = open.size
    for (const socket of [...open]) {
      try {
        socket.resetAndDestroy()
      } catch {
        socket.destroy()
      }
    }
    open.clear()
    const at = ((performance.now() - windowStart) / 1000).toFixed(1)
    console.error(`[proxy-cuts] cut ${cuts}: ${n} socket(s) reset at +${at} s into the window`)
  }
  let timer = setInterval(cut, everyMs)
  process.on('message', (m) => {
    if (m && m.cmd === 'reset') {
      clearInterval(timer)
      windowStart = performance.now()
      timer = setInterval(cut, everyMs)
    }
  })
}

await import('./proxy-harness.mjs')
