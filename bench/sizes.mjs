// What the workload's documents cost on Lianxin's wire, encoded two ways (see
// `lianxin-bench-client sizes`). Run from the harness copy by `cargo xtask bench`:
//   node peers/lianxin-sizes.mjs > ../sizes.json
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import * as W from '../workload.mjs'
import { binDir } from './lianxin.mjs'

const docs = Array.from({ length: W.params.docs }, (_, i) => W.makeVisit(i))
const json = JSON.stringify(docs)
const r = spawnSync(path.join(binDir(), 'lianxin-bench-client'), ['sizes'], { input: json, stdio: ['pipe', 'pipe', 'inherit'], maxBuffer: 1 << 24 })
if (r.status !== 0) process.exit(r.status ?? 1)
const out = JSON.parse(r.stdout.toString())
out.workloadJsonBytes = Buffer.byteLength(json)
process.stdout.write(JSON.stringify(out, null, 2) + '\n')
