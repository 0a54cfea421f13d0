"""The chain states a window keeps (#17.5, app/gkn/chain_history.py): bounded whatever the number of
generations, the newest exact, older ones thinned evenly, live and in a replay alike."""

from __future__ import annotations

import numpy as np

from app.gkn.chain_history import CHAIN_BUDGET_BYTES, MAX_RECENT, ChainHistory, recent_for

CHAINS, DIM = 1000, 2  # 8 kB a generation


def generation(g: int) -> np.ndarray:
    return np.full((CHAINS, DIM), g, dtype=np.float32)


def test_a_long_live_sampling_keeps_a_bounded_window_and_thinned_history():
    history = ChainHistory()
    generations = 20_000  # 160 MB of states offered (the budget is 64 MB)
    peak = 0
    for g in range(generations):
        history.append(generation(g))
        if g % 1000 == 0:
            peak = max(peak, history.nbytes)
    peak = max(peak, history.nbytes)
    assert len(history) == generations
    assert history.recent == recent_for(CHAINS * DIM * 4) == MAX_RECENT
    kept = history.kept_generations()
    assert len(kept) <= 2 * MAX_RECENT + 1 and peak <= CHAIN_BUDGET_BYTES
    assert kept[-MAX_RECENT:] == list(range(generations - MAX_RECENT, generations))  # the newest, exact
    old = kept[:-MAX_RECENT]
    assert old[0] == 0 and len(set(np.diff(old))) == 1  # the start, then an even stride
    for g in (generations - 1, generations - MAX_RECENT, 12_345, 1, 0):
        shown = history.shown_generation(g)
        assert shown <= g and g - shown < history.stride  # the nearest kept generation before
        assert float(history[g][0, 0]) == shown  # and its states


def test_a_replay_reads_only_the_generations_it_keeps():
    generations = 5000
    chains = np.broadcast_to(
        np.arange(generations, dtype=np.float32)[None, :, None], (CHAINS, generations, DIM)
    )

    class Counting:  # a dataset that counts the generations read
        shape, dtype = chains.shape, chains.dtype
        read = 0

        def __getitem__(self, selection):
            values = np.asarray(chains[selection])
            Counting.read += values.shape[1]
            return values

    history = ChainHistory.from_dataset(Counting(), generations)
    assert len(history) == generations and history.nbytes <= CHAIN_BUDGET_BYTES
    assert Counting.read == len(history.kept_generations()) <= 2 * MAX_RECENT
    for g in (0, 1, 777, generations - MAX_RECENT - 1, generations - 1):
        shown = history.shown_generation(g)
        assert shown <= g and float(history[g][0, 0]) == shown
