"""The chaos lab: live views of chaotic RNNs (training, dynamics, Lyapunov exponents).

Its lab class and the views it contributes to the window, in tab order (read without Qt, for
`gkn app --view`).
"""

from app.host import ViewSpec

LAB = "app.chaos.lab:ChaosLab"  # the lab class, imported when a window is built
VIEWS = (
    ViewSpec("chaos", "Chaos training", "app.chaos.training_view:ChaosTrainingView"),
    ViewSpec("dynamics", "Dynamics", "app.chaos.dynamics_view:DynamicsView"),
    ViewSpec("lyapunov", "Lyapunov", "app.chaos.lyapunov_view:LyapunovView"),
)
