"""`gkn app --screenshot` for the chaos lab's views: train when asked, compute what the view shows
(trajectories, a Lyapunov spectrum) and put the view in front; app/main.py renders the window."""

from __future__ import annotations

from app.screenshot import finish


def prepare(app, window, view: str, run_given: bool, train_steps_given: bool) -> None:
    lab = window.chaos
    # The chaos view always trains; the dynamics and Lyapunov views study the untrained network of
    # the settings unless --train-steps asks for a trained one.
    if not run_given and (view == "chaos" or train_steps_given):
        lab.train_play()
        finish(app, window, lambda: lab.train_thread, "chaos training")
    if view in ("dynamics", "lyapunov"):
        lab.dynamics_view.set_settings(source="trained" if lab.run_path is not None else "untrained")
        lab.restart_dynamics(lab.dynamics_view.settings())
        finish(app, window, lambda: lab.dynamics_thread, "the trajectories")
    if view == "lyapunov":
        lab.start_lyapunov(lab.lyapunov_view.settings())
        finish(app, window, lambda: lab.lyapunov_thread, "the Lyapunov analysis")
    window.show_view(view)
