//! The edit that turns a text field's old value into its new one, as splices (文本差异): what
//! [`super::fields::Writer::text`] applies so concurrent edits elsewhere in the text merge.
//!
//! Automerge's own `update_text` runs a Myers diff over grapheme clusters; the phone's bundle
//! would carry that diff (about 13 KB of its download) for form fields that change in one or
//! two places per save. This one trims the common prefix and suffix, then lines up what is
//! left by a longest common subsequence of characters when that middle is small enough for its
//! table ([`MAX_CELLS`]); past that, the middle is replaced whole (still only the changed
//! stretch, never the whole text). Positions are in Unicode code points, the unit Automerge
//! counts text in by default (the workspace enables none of its other indexings).

/// Most cells of the LCS table (middle of the old × middle of the new text, in characters):
/// 2¹⁸ cells of 2 bytes, 512 KiB at most, for a moment. A longer side than the table allows
/// has its middle replaced whole.
const MAX_CELLS: usize = 1 << 18;

/// One splice: at `at` (code points into the text as already edited), delete `delete`
/// characters and insert `insert`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Splice {
    pub at: usize,
    pub delete: usize,
    pub insert: String,
}

/// The splices turning `old` into `new`, in order, each at its position after the ones
/// before it were applied. Empty when the texts are equal.
pub(crate) fn splices(old: &str, new: &str) -> Vec<Splice> {
    let a: Vec<char> = old.chars().collect();
    let b: Vec<char> = new.chars().collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (a, b) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let mut out = Vec::new();
    if a.is_empty() && b.is_empty() {
        return out;
    }
    let (n, m) = (a.len(), b.len());
    if n.saturating_mul(m) > MAX_CELLS {
        out.push(Splice {
            at: prefix,
            delete: n,
            insert: b.iter().collect(),
        });
        return out;
    }
    // lcs[i * (m + 1) + j]: the longest common subsequence of a[i..] and b[j..]. Fits in u16:
    // it is at most min(n, m), at most √MAX_CELLS.
    let w = m + 1;
    let mut lcs = vec![0u16; (n + 1) * w];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i * w + j] = if a[i] == b[j] {
                lcs[(i + 1) * w + j + 1] + 1
            } else {
                lcs[(i + 1) * w + j].max(lcs[i * w + j + 1])
            };
        }
    }
    // Walk it forward, gathering each run of deletions and insertions into one splice.
    let (mut i, mut j, mut at) = (0, 0, prefix);
    let mut open: Option<Splice> = None;
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            if let Some(s) = open.take() {
                at += s.insert.chars().count();
                out.push(s);
            }
            i += 1;
            j += 1;
            at += 1;
            continue;
        }
        let s = open.get_or_insert_with(|| Splice {
            at,
            delete: 0,
            insert: String::new(),
        });
        if j == m || (i < n && lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) {
            s.delete += 1;
            i += 1;
        } else {
            s.insert.push(b[j]);
            j += 1;
        }
    }
    out.extend(open);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Applies the splices to `old` as Automerge would.
    fn apply(old: &str, splices: &[Splice]) -> String {
        let mut text: Vec<char> = old.chars().collect();
        for s in splices {
            text.splice(s.at..s.at + s.delete, s.insert.chars());
        }
        text.into_iter().collect()
    }

    #[test]
    fn every_edit_turns_the_old_text_into_the_new_one() {
        let cases = [
            ("", ""),
            ("", "新的"),
            ("旧的", ""),
            ("厂区变压器容量不足", "厂区变压器容量不足"),
            ("厂区变压器容量不足", "【紧急】厂区变压器容量不足，影响夜班"),
            ("abcdef", "azcdyf"),
            ("visited the workshop", "visited the new workshop twice"),
            ("👨‍👩‍👧 family", "👨‍👩 family!"),
            ("aaaa", "aa"),
            ("ab", "ba"),
        ];
        for (old, new) in cases {
            assert_eq!(apply(old, &splices(old, new)), new, "{old:?} → {new:?}");
        }
    }

    #[test]
    fn two_separate_changes_are_two_small_splices_leaving_the_middle_alone() {
        let edits = splices(
            "厂区变压器容量不足，扩产后经常跳闸",
            "【紧急】厂区变压器容量不足，扩产后经常跳闸，影响夜班",
        );
        assert_eq!(
            edits,
            vec![
                Splice {
                    at: 0,
                    delete: 0,
                    insert: "【紧急】".into()
                },
                Splice {
                    at: 21,
                    delete: 0,
                    insert: "，影响夜班".into()
                },
            ]
        );
        let edits = splices("abcdef", "azcdyf");
        assert_eq!(edits.len(), 2, "{edits:?}");
        assert!(edits.iter().all(|s| s.delete == 1 && s.insert.len() == 1));
    }

    #[test]
    fn a_middle_too_large_for_the_table_is_replaced_whole_and_only_the_middle() {
        let old = format!("head{}tail", "x".repeat(600));
        let new = format!("head{}tail", "y".repeat(600));
        assert_eq!(
            splices(&old, &new),
            vec![Splice {
                at: 4,
                delete: 600,
                insert: "y".repeat(600)
            }]
        );
    }
}
