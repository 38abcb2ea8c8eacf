"""Self-supervised audio embeddings learned from a collection itself (Cochlea; Jansen et al., 2018).

Data flow: `triplets` draws anchor/positive pairs with the deformations of `augment` -> `model` (log-mel
patches -> small CNN -> unit vectors) -> `train` (semi-hard triplet loss, checkpoints) -> `encoder`
(the trained network as the "ssl" AudioEncoder) -> `evaluate` (ESC-50 audio->audio retrieval).
Imports torch lazily through its submodules; importing this package loads nothing heavy.
"""
