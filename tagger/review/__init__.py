"""The review loop around the label store: which papers to ask reviewers about
(:mod:`tagger.review.strategies`, :mod:`tagger.review.queue`) and the active-learning
simulation that chose the default strategy (``training/experiments/active_learning.py``, in
the checkout only)."""
