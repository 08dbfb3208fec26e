// Peer adapter: Lianxin (our Rust sync engine on native devices, our axum + SQLite server).
// Copied next to the harness's own adapters (peers/) by `cargo xtask bench`.
//
// Every client of the harness run is a device inside ONE long-lived `lianxin-bench-client`
// process (tests/src/bin/lianxin-bench-client.rs), driven by JSON lines over its stdin/stdout.
// Each device runs the real sync engine (shared::sync::client) over HTTP to the real server,
// listens to GET /api/events for push notices, and keeps its documents in memory.
//
// One harness document (a workload visit record) is a group of Lianxin documents: the visit
// and its 3 problems. Its version is every head of the group, hex, sorted, comma-joined.
// Binaries come from LIANXIN_BIN_DIR (set by `cargo xtask bench`), else target/release.
import { spawn } from 'node:child_process'
import path from 'node:path'
import readline from 'node:readline'
import { fileURLToPath } from 'node:url'
import { canonical } from '../workload.mjs'

export const name = 'lianxin'
export const label = 'Lianxin (Rust sync engine; axum + SQLite server)'
export const serverScript = new URL('./lianxin-server.mjs', import.meta.url)
export const messageKind = 'http' // messages = HTTP requests (sync rounds, plus one SSE GET per online period)
export const packages = [] // no npm packages: versions come from Cargo (see BENCHMARKS.md)
export const clientUrl = (host, port) => `http://${host}:${port}`

export const binDir = () => process.env.LIANXIN_BIN_DIR || fileURLToPath(new URL('../../../release/', import.meta.url))

// ---- one bench-client process for all devices of this harness run ----
let host = null
function devices() {
  if (host) return host
  const proc = spawn(path.join(binDir(), 'lianxin-bench-client'), ['devices'], { stdio: ['pipe', 'pipe', 'inherit'] })
  const waiters = new Map()
  let next = 1
  readline.createInterface({ input: proc.stdout }).on('line', (line) => {
    let m
    try { m = JSON.parse(line) } catch { console.error('[lianxin] bad reply line:', line.slice(0, 200)); return }
    const w = waiters.get(m.id)
    if (!w) return
    waiters.delete(m.id)
    if (m.error) w.reject(new Error(m.error)); else w.resolve(m)
  })
  proc.on('exit', (code, signal) => {
    for (const w of waiters.values()) w.reject(new Error(`lianxin-bench-client exited (${code ?? signal})`))
    waiters.clear()
    host = null
  })
  proc.stdin.on('error', () => {})
  host = {
    call: (msg) => new Promise((resolve, reject) => {
      const id = next++
      waiters.set(id, { resolve, reject })
      proc.stdin.write(JSON.stringify({ ...msg, id }) + '\n')
    }),
    proc,
  }
  return host
}

export const loginFor = (nameHint) => `bench-${String(nameHint).toLowerCase()}`

let seq = 0
class Client {
  // scope: the harness's doc ids for this client (S4). Lianxin's server decides what a device
  // receives from the user's 包联 assignments: the server wrapper assigns each S4 officer the
  // enterprises of its 20 visits, and A and B every enterprise of the workload.
  constructor(nameHint, url, scope = null) {
    this.dev = `${nameHint}-${seq++}`
    this.scope = scope
    this.online = false
    this.cache = new Map() // id -> last read {version, content, view, conflicted}
    // Logs in as the officer the server wrapper set up for this name (bench-a, bench-b,
    // bench-c0 …): once, before the first offline creation or the first sync.
    this.ready = devices().call({ cmd: 'new', dev: this.dev, url, login: loginFor(nameHint) })
  }
  async call(msg) { await this.ready; return devices().call({ ...msg, dev: this.dev }) }
  // Create the visit records with no network; returns their ids (the visit documents' ids).
  async createOffline(docs) { return (await this.call({ cmd: 'create', docs })).ids }
  // Resolves at once: the engine syncs in the background, like the app after "online".
  async goOnline() { this.online = true; await this.call({ cmd: 'online' }) }
  async goOffline() { this.online = false; await this.call({ cmd: 'offline' }) }
  // Nothing to ask for: the server sends what is in the device's scope.
  async open(_ids) {}
  isOnline() { return this.online }
  // The workload's mutators run on a plain object holding the mapped fields; what they change
  // is applied as typed edits (one Automerge change per touched document).
  async edit(id, fn) {
    const r = await this.read(id)
    if (!r) throw new Error(`lianxin: ${id} is not on ${this.dev}`)
    const before = r.view
    const view = JSON.parse(JSON.stringify(before))
    fn(view)
    const msg = { cmd: 'edit', docId: id }
    for (const k of Object.keys(view)) {
      if (!['status', 'note', 'problems'].includes(k)) throw new Error(`lianxin: the edit sets ${k}, which has no Lianxin field`)
    }
    if (view.status !== before.status) msg.status = view.status
    if (view.note !== before.note) msg.note = view.note
    const severities = []
    view.problems.forEach((p, k) => { if (p.severity !== before.problems[k].severity) severities.push([k, p.severity]) })
    if (severities.length) msg.severities = severities
    await this.call(msg)
  }
  async read(id) {
    const have = this.cache.get(id)
    const r = await this.call({ cmd: 'read', docId: id, have: have ? have.version : null })
    if (!r.doc) return null
    if (r.doc.same) return have
    this.cache.set(id, r.doc)
    return r.doc
  }
  contentOf(r) { return canonical(r.content) }
  conflicted(r) { return !!r.conflicted }
  async close() { await this.call({ cmd: 'close' }) }
}
export const createClient = (nameHint, url, scope) => new Client(nameHint, url, scope)
export const expectedVersion = (r) => r.version

// Totals over all devices (requests, failed requests, refused documents), for the report.
export async function stats() { return host ? host.call({ cmd: 'stats' }) : null }
