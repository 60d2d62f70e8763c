"""Blueprints: tagging (``/v1/tag``...), admin (reload), ops (health, metrics), docs."""
