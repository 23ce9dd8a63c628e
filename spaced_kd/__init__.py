"""spaced-kd: knowledge distillation with the spacing effect."""

__version__ = "0.1.0"
