"""The GKN family: Generative Kaleidoscopic Networks."""
