// The hostile-link workload: the harness's workload with notes that do not compress.
// `cargo xtask bench` copies the harness's workload.mjs to `workload-harness.mjs` in its hostile
// copy of the harness (target/bench/hostile) and this file to `workload.mjs`, so bench.mjs, every
// peer adapter and every server program there read the same records. The harness in shared/ is
// not touched.
//
// Everything is the harness's (ids, sizes, fields, edits) except each record's `note`: instead of
// phrases drawn from a small list (which deflate squeezes to a fraction), it is 500 code points
// drawn uniformly from the CJK Unified Ideographs block U+4E00..U+9FFF, seeded per record, so all
// three systems upload the same bytes and none can shrink them much by compressing
// (about 14.4 bits of entropy per 24-bit UTF-8 character).
import { makeVisit as harnessVisit, params } from './workload-harness.mjs'

export * from './workload-harness.mjs'

const CJK_FIRST = 0x4e00
const CJK_COUNT = 0x9fff - 0x4e00 + 1

// mulberry32, as the harness's own generator, on a seed of its own.
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

export function randomNote(i, chars = params.noteChars) {
  const r = rng((params.seed ^ 0x5a17c0de ^ Math.imul(i + 1, 2246822519)) >>> 0)
  let s = ''
  for (let k = 0; k < chars; k++) s += String.fromCodePoint(CJK_FIRST + Math.floor(r() * CJK_COUNT))
  return s
}

// A local export takes precedence over the `export *` above.
export function makeVisit(i) {
  return { ...harnessVisit(i), note: randomNote(i) }
}
