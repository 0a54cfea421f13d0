"""`gkn app --screenshot` for the GKN lab's views (and the shell's): train, sample where the view
shows chains, and put the view in front; app/main.py renders the window."""

from __future__ import annotations

from app.screenshot import finish


def prepare(app, window, view: str | None, run_given: bool, train_steps_given: bool) -> None:
    view = view or "1d"
    lab = window.gkn
    if not run_given and view not in ("sweep", "claims"):  # those show the folder given, or nothing
        if view == "1d" and lab.state.dim <= 1:  # the depth effect at a glance: a shallow twin beside it
            lab.start_twin(2)
        lab.train_play()
        finish(app, window, lambda: lab.train_thread, "training")
        if lab.twin_thread is not None:
            finish(app, window, lambda: lab.twin_thread, "the shallow twin's training")
        if view in ("1d", "2d", "kaleidoscope"):
            lab.sample_play()
            finish(app, window, lambda: lab.sample_thread, "sampling")
        if view == "2d":
            window.views["2d"].basins_box.setChecked(False)
    window.show_view(view)
    if view == "kaleidoscope" and lab.state.chains and lab.state.image_shape:
        window.views["kaleidoscope"].select_chain(0)  # show a chain's strip of generations too
    window.views["runs"].show_runs(window.recent_runs())
