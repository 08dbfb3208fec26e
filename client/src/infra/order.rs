//! One sort for the app's lists. Every `sort_by` with its own element type or comparison is its
//! own copy of the standard library's sort in the wasm (several KB each); the lists sort their
//! positions through this one function instead, which is not generic over what it compares.

use std::cmp::Ordering;

/// The positions `0..len` in the order `cmp` (comparing two positions) gives, equal ones in
/// position order: the order a stable sort would give.
pub fn stable_order(len: usize, cmp: &dyn Fn(usize, usize) -> Ordering) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    // Positions are distinct, so breaking ties by position makes the unstable sort stable.
    order.sort_unstable_by(|a, b| cmp(*a, *b).then(a.cmp(b)));
    order
}

/// `items` rearranged into `order` (positions from [`stable_order`]).
pub fn rearranged<T>(items: Vec<T>, order: &[usize]) -> Vec<T> {
    let mut slots: Vec<Option<T>> = items.into_iter().map(Some).collect();
    order
        .iter()
        .filter_map(|i| slots.get_mut(*i).and_then(Option::take))
        .collect()
}
