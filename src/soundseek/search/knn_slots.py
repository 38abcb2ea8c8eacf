"""The library model's kNN source for candidate search, reading only the neighbour slots a query touches.

A segment's kNN score (library.knn_scores) is the mean over its K acoustic neighbours, named examples,
of acoustic cosine x the example's word weight for the query; the weight is 0 for every example whose
words do not match, so the rows with a matching neighbour are the only ones scored above 0. Inverted
lists give, for each example, the slots of the (m, K) neighbours table that hold it (row * K + j), so
a query reads those slots only, instead of all K neighbours of every such row, and gets the same
numbers to the bit.
"""

from __future__ import annotations

import numpy as np

from soundseek.search.state import gather_lists


#: Below this many descents an integer array is sorted by NumPy's stable sort (it merges ascending
#: runs), above it by radix passes (sort_order): 20 runs of 500 values 0.05 against 0.08 ms, 200 runs
#: of 100 values 0.64 against 0.16 ms.
FEW_RUNS = 32


def neighbour_slots(neighbours: np.ndarray, n_examples: int) -> tuple[np.ndarray, np.ndarray]:
    """Inverted lists of the (m, K) neighbours table: the slots (row * K + j, ascending) that hold each
    example. Returns starts (n_examples + 1,) int64 and the slots, int32 where they fit."""
    slot_type = np.int32 if neighbours.size < 2**31 else np.int64
    order = np.argsort(np.ravel(neighbours), kind="stable")
    starts = np.searchsorted(np.ravel(neighbours)[order], np.arange(n_examples + 1)).astype(np.int64)
    return starts, order.astype(slot_type)


def knn_of_users(slots_start: np.ndarray, slots: np.ndarray, neighbour_sims: np.ndarray, k: int,
                 example_rows: np.ndarray, example_weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The model rows with a neighbour among `example_rows` (the examples whose words match the query,
    with word weights `example_weights`, 0 elsewhere: every other row's kNN score is 0), ascending, and
    their kNN scores, equal to the bit to library.knn_scores' (the mean over a row's K neighbours of
    acoustic cosine x the example's word weight). The lists are neighbour_slots'; `neighbour_sims` is
    the (m * K,) flat table.

    Only the matching slots are read: their products go into a (K, rows) block of zeros whose column
    means are knn_scores' (the same products in the same places, a slot of another example adding
    sim x 0 there, summed in NumPy's order: see row_means)."""
    gathered = gather_lists(slots_start, slots, example_rows)
    if not len(gathered):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    # each slot's example is the list it came from: its word weight needs no look-up in the neighbours
    counts = slots_start[example_rows + 1] - slots_start[example_rows]
    order = sort_order(gathered)
    weights = np.repeat(example_weights[example_rows], counts)[order]
    ascending = gathered[order]
    model_rows, slot = np.divmod(ascending, k)
    first = np.concatenate(([True], model_rows[1:] != model_rows[:-1]))
    n = int(first.sum())
    block = np.zeros((k, n), dtype=np.float32)
    block.reshape(-1)[slot * n + np.cumsum(first) - 1] = neighbour_sims[ascending].astype(np.float32) * weights
    return model_rows[first], row_means(block)


def sort_order(x: np.ndarray) -> np.ndarray:
    """The permutation that sorts an integer array, ascending, ties in position order (what
    `np.argsort(x, kind="stable")` gives). Non-negative int32 values are sorted by two stable 16-bit
    radix passes: NumPy sorts 16-bit keys by radix, and its comparison sort of 32-bit ones was 2-3x
    slower at 100k values here. An array made of few ascending runs (the lists of a few examples) is
    left to that sort, which merges runs: 0.02 against 0.08 ms for two runs of 5k values."""
    if x.dtype != np.int32 or len(x) < 1024 or x.min() < 0 or np.count_nonzero(x[1:] < x[:-1]) < FEW_RUNS:
        return np.argsort(x, kind="stable")
    low = np.argsort((x & 0xFFFF).astype(np.uint16), kind="stable")
    return low[np.argsort((x[low] >> 16).astype(np.uint16), kind="stable")]


def sorted_ints(x: np.ndarray) -> np.ndarray:
    """`np.sort(x)` of an integer array (see sort_order)."""
    if x.dtype != np.int32 or len(x) < 1024:
        return np.sort(x)
    return x[sort_order(x)]


def row_means(block: np.ndarray) -> np.ndarray:
    """`block.T.mean(axis=1)` of a (K, n) float32 block as NumPy computes it on a contiguous (n, K)
    array, to the bit: row_sums, then the division by K (in float32: the same quotients as NumPy's
    float64 division rounded to float32). Returns (n,) float32."""
    return np.true_divide(row_sums(block), np.intp(len(block)), casting="unsafe", dtype=np.float32)


def row_sums(block: np.ndarray) -> np.ndarray:
    """`block.T.sum(axis=1)` of a (K, n) float32 block as NumPy computes it on a contiguous (n, K)
    array, to the bit, from K whole rows (the sum of each of n short rows is a slow NumPy loop): its
    pairwise sum (eight running sums up to the last multiple of 8, combined pairwise, then the rest in
    order; below 8 terms, in order). Returns (n,) float32."""
    k = len(block)
    if k > 128:  # NumPy's pairwise block: beyond it, its own loop
        return np.ascontiguousarray(block.T).sum(axis=1)
    if k < 8:
        total = np.zeros(block.shape[1], dtype=np.float32)
        for row in block:
            total += row
        return total
    lanes = block[:8].copy()
    for start in range(8, k - k % 8, 8):
        lanes += block[start : start + 8]
    total = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]))
    for row in block[k - k % 8 :]:
        total += row
    return total
