"""Chaotic recurrent networks as generative models (arXiv 2405.10822; SPEC-NOTES section 2)."""
