"""Closing a window in order, before Qt and Python's collector delete it in theirs (issue #17.4).

pyqtgraph crashed the process once with 15-30 replay windows opened one after the other ("LabelItem
resize: QGraphicsTextItem has been deleted", then a segfault). The cause is deletion order: a closed
window is deleted later (Qt's deferred delete, or Python's collector when the last reference goes), and
its scenes are then torn down item by item while their layouts still lay out what is left: a plot title
(a LabelItem) gets a resize after its text item is gone. And a parented timer of a view (the dynamics
view's throttle, the kaleidoscope's play timer) still fires on a closed window: the throttle started a
new trajectory job after closing had stopped them all, a thread that outlived its window.

So closing ends them while everything is alive: every timer of the window stops, and every pyqtgraph
view closes its scene (GraphicsView.close clears the scene and lets go of it), so that nothing is left
to lay out when the widgets are deleted, in whichever order.
"""

from __future__ import annotations

import pyqtgraph as pg
from PyQt6.QtCore import QTimer
from PyQt6.QtWidgets import QWidget


def stop_timers(window: QWidget) -> None:
    for timer in window.findChildren(QTimer):
        timer.stop()


def close_scenes(window: QWidget) -> None:
    for view in window.findChildren(pg.GraphicsView):
        if not getattr(view, "closed", False):
            view.close()
