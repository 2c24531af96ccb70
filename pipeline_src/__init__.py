"""GAN ablation pipeline: every stage is `python -m pipeline_src <stage>`."""

__version__ = "0.1.0"
