"""Generative Kaleidoscopic Networks (arXiv 2402.11793; SPEC-NOTES section 1): the GKN family."""
