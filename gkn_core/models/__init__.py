from gkn_core.models.gkn import KaleidoscopeMLP, build_model

__all__ = ["KaleidoscopeMLP", "build_model"]
