"""tagger: learn and apply research themes to paper abstracts.

The pipeline, one module per step:
taxonomy -> corpus -> text -> features -> model -> artifact -> (cli | api | bulk engine).
"""

__version__ = "0.1.0"
