// The hostile copy of the harness (target/bench/hostile) starts this program in place of each
// peer's server program: `cargo xtask bench` renames the real one to `<name>-harness<.ext>` and
// copies this file to `<name><.ext>` (automerge-server.mjs, pouchdb-server.cjs,
// lianxin-server.mjs). It forks the real program with the same environment, passes the
// harness's IPC both ways, and appends every answer to `check` (how many documents the server
// holds at the expected version) to `$DATA_DIR.checks.jsonl`, so a run that does not converge in
// its time can still say how much had arrived.
//
// Written without `import`/`require` (builtins through process.getBuiltinModule, Node ≥ 20.16;
// its own path from process.argv), so the same text runs as an ES module (.mjs) and as CommonJS
// (.cjs).
//
// Caveat: the harness's server peak RSS is now this wrapper's; the hostile figures do not report
// server memory.
const { fork } = process.getBuiltinModule('node:child_process')
const fs = process.getBuiltinModule('node:fs')
const path = process.getBuiltinModule('node:path')

const self = process.argv[1]
const ext = path.extname(self)
const real = self.slice(0, -ext.length) + '-harness' + ext
const dataDir = (process.env.DATA_DIR || 'data').replace(/\/+$/, '')
const log = dataDir + '.checks.jsonl'
fs.writeFileSync(log, '')
const started = Date.now()

const child = fork(real, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
child.on('message', (m) => {
  if (m && typeof m.matching === 'number') {
    fs.appendFileSync(log, JSON.stringify({ at: Date.now() - started, matching: m.matching, total: m.total }) + '\n')
  }
  if (process.connected) process.send(m)
})
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
process.on('message', (m) => { if (child.connected) child.send(m) })
process.on('disconnect', () => { child.kill('SIGTERM'); setTimeout(() => process.exit(0), 12000).unref() })
process.on('SIGTERM', () => child.kill('SIGTERM'))
