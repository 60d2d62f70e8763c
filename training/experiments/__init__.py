"""Experiment runners and their design registries (see ``training/EXPERIMENTS.md``).

They import the installed ``tagger`` package like any user code; nothing in ``tagger``
imports them. Run one from the checkout root: ``python -m training.experiments.designs
--list``.
"""
