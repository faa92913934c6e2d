"""Language-model library: loading, Trainer fine-tuning, sampling and text-quality metrics.

Submodules import torch and transformers; this package file imports nothing, so importing
`stackpipes.lm.bundle` (for a materializer's type) stays cheap.
"""
