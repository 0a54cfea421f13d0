"""The GKN lab: training and kaleidoscopic sampling of GKN models, their manifolds, chains and losses.

Its lab class and the views it contributes to the window, in tab order (read without Qt, for
`gkn app --view`).
"""

from app.host import ViewSpec

LAB = "app.gkn.lab:GknLab"  # the lab class, imported when a window is built
VIEWS = (
    ViewSpec("1d", "1D manifolds", "app.gkn.manifold1d:OneDView"),
    ViewSpec("2d", "2D manifolds", "app.gkn.manifold2d:TwoDView"),
    ViewSpec("kaleidoscope", "Kaleidoscope", "app.gkn.kaleidoscope:KaleidoscopeView"),
    ViewSpec("loss", "Loss", "app.gkn.loss:LossView"),
)
