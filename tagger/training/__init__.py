"""Offline training: fitting, cross-validation, threshold tuning, evaluation and weak labels."""
