"""One module per augmentation kind; every module here is a kind and is imported by the
registry (:mod:`..registry`) the first time a kind is asked for.

A kind's module holds its frozen entry dataclass (a subclass of ``Augmentation``), its config
keys, its parse and its apply, and ends with ``register(Kind(...))``. Where it draws random
numbers, the order of its draws is part of what a seed means: changing it changes every copy.
"""
