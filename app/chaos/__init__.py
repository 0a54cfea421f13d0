"""The chaos lab: live views of chaotic RNNs (training, dynamics, Lyapunov exponents)."""
