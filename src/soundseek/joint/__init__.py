"""The joint lexico-acoustic space (Elizalde, Zarar and Raj, ICASSP 2019): a twin network that maps
audio-encoder vectors and text-encoder vectors into one space where a sound and the words for it meet.

Stages, one module each: `features` (PCA/whitening of each modality to the network's input size),
`model` (the twin MLP), `losses`, `data` (labelled data sets and their cached features), `train`,
`saved` (the model directory and `load_joint_model`), `evaluate` (the paper's kNN MAP@3 protocol and
ranking metrics), `experiments` + `report` (the reproduction). Torch is imported only by the modules
that need it.
"""
