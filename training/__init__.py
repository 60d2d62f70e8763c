"""Research code of the checkout, not of the installed package (``pip install .`` ships only
``tagger``): run from the checkout root as ``python -m training.experiments.NAME``."""
