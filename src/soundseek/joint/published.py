"""Every published number of the two seed papers, transcribed from `../shared/seeds/`, with the table or
figure it comes from and how its setting differs from ours.

Sources (text transcriptions of the papers; values exactly as printed, percentages as fractions):

* Elizalde, Zarar and Raj, "Cross modal audio search and retrieval with joint embeddings based on text
  and audio", ICASSP 2019 (`elizalde-icassp2019-paper.txt`; the slides repeat Table 2 and the lists).
* Tourbabin and Ben-Hur, "Audio-Text Cross-Modal Retrieval", Stanford CS224N custom project
  (`cs224n-audio-text-retrieval.txt`).

Direction names follow ours, "query->database": the paper's Table 2 has the *test* features as rows
(our query) and the *train* features as columns (our database), so its "Audio JE test, Text JE train"
cell (71.3% with WALNet) is our audio->text, and "Text JE test, Audio JE train" (100%) is our
text->audio. The paper's text says the same: "54.7 or 71.3% for training on text JEs and testing on
audio JEs, and 100% for training on audio JEs and testing on text JEs".

Nothing here is computed; `report` lays these beside our numbers and the tests check the wiring.
"""

from __future__ import annotations

ELIZALDE_SETTING = (
    "Elizalde et al.: DCASE 2018 task 2 (Freesound, 41 classes, ~9.5k train / ~1.6k test clips of 0.3-30 s, "
    "20% of train for validation), audio = MFCC (+deltas, 300-d) or WALNet (1024-d, PCA to 300), text = GloVe "
    "300-d (mean over words), all L2-normalized; twin MLP 300-1024-512-512-1024, dropout 0.5, 100 epochs, Adam, "
    "500 training pairs; kNN k = 25. Ours: ESC-50 (50 classes x 40 clips of 5 s, 5-fold CV grouped by "
    "recording), YAMNet (1024-d) or MFCC (120-d) with whitened PCA to 300, MiniLM text; see each table.")

CS224N_SETTING = (
    "CS224N: AudioCaps (49,274 train / 494 val / 957 test clips of 10 s, one free-form caption each), PANNs "
    "ResNet-38 audio + BERT text encoders with MLP heads, NT-Xent (tau 0.07), 50 epochs, batch 64 (32 "
    "fine-tuned), R@k over 957 test clips. Ours: ESC-50 class names (50 one- or two-word labels) against "
    "held-out clips, plus 7 Clotho clips with 35 captions; frozen YAMNet + MiniLM under a trained twin MLP.")

#: Elizalde et al. Table 1: MAP@3 (%) "for retrieving audio with joint embeddings", test set of DCASE
#: 2018 task 2, audio features not stated for this table (WALNet is used "for future experiments").
#: Keys: loss -> similarity -> value. "l1"/"l2" = the distances, "exp_l1"/"exp_l2" = exp(-distance).
ELIZALDE_TABLE1: dict[str, dict[str, float]] = {
    "contrastive": {"l1": 0.320, "l2": 0.154, "exp_l1": 0.129, "exp_l2": 0.146},
    "bce": {"l1": 0.403, "l2": 0.447, "exp_l1": 0.340, "exp_l2": 0.612},
}

#: Elizalde et al. Table 2: kNN (k = 25) MAP@3, keyed by features -> "query->database" -> value.
#: The baseline cross-modal cells (2.4%) are chance: a kNN fitted on one modality's 300-d features
#: and tested on the other's (1/41 classes); ours are undefined (different spaces, "—").
ELIZALDE_TABLE2: dict[str, dict[str, float]] = {
    "mfcc_baseline": {"audio->audio": 0.560, "audio->text": 0.024, "text->audio": 0.024, "text->text": 1.000},
    "walnet_baseline": {"audio->audio": 0.720, "audio->text": 0.024, "text->audio": 0.024, "text->text": 1.000},
    "mfcc_joint": {"audio->audio": 0.612, "audio->text": 0.547, "text->audio": 1.000, "text->text": 1.000},
    "walnet_joint": {"audio->audio": 0.749, "audio->text": 0.713, "text->audio": 1.000, "text->text": 1.000},
}

#: Elizalde et al. Fig. 4 (noise of 1 and 2 stds on the text features, WALNet): the bar values are in
#: the figure only, which our text source does not carry; the text states the drop for text JEs.
ELIZALDE_FIG4 = {
    "text_je_drop": (0.36, 0.66),
    "statement": "performance degraded with more noise; testing with text JEs resulted in a larger drop of "
                 "36-66% MAP@3 ... audio JEs ... the performance drop was lesser",
}

#: Elizalde et al. section 3.5 (and slides): qualitative lists, in the printed order. "in_vocabulary"
#: is about the paper's 41 DCASE classes ("Gunshot, gunfire" and "Meow" are classes there; none of the
#: five queries is an ESC-50 class name except "thunderstorm", whose audio query we keep out of ESC-50).
ELIZALDE_QUALITATIVE: dict[str, dict[str, object]] = {
    "gunshot": {"kind": "text", "in_vocabulary": True,
                "text": ["gunshot", "tearing", "applause", "cough"],
                "joint": ["fireworks", "gunshot", "microwave oven", "knock"],
                "note": "the slides list the joint labels as gunshot, fireworks, microwave oven, knock"},
    "meow": {"kind": "text", "in_vocabulary": True,
             "text": ["meow", "fart", "cough"], "joint": ["meow", "bark", "trumpet"]},
    "house": {"kind": "text", "in_vocabulary": False,
              "text": ["drawer", "telephone", "writing", "gunshot", "double bass"],
              "joint": ["meow", "cough", "finger snapping", "laughter", "computer keyboard"]},
    "thunderstorm": {"kind": "audio", "in_vocabulary": False,
                     "text": ["fireworks", "applause", "tearing", "fart"],
                     "joint": ["fireworks", "cough", "drawer open or close", "gunshot"],
                     "note": "a Freesound recording; 'text' = kNN over the training WALNet features"},
    "orchestra": {"kind": "audio", "in_vocabulary": False,
                  "text": ["applause", "cello", "acoustic guitar", "flute", "fireworks", "violin", "clarinet"],
                  "joint": ["violin", "trumpet", "saxophone", "flute", "double bass", "clarinet", "cello"],
                  "note": "'text' = kNN over the training WALNet features"},
}

#: CS224N Table 1: R@1/5/10 by joint dimension, frozen pre-trained encoders (AudioCaps test).
CS224N_TABLE1: dict[int, dict[str, tuple[float, float, float]]] = {
    128: {"text->audio": (0.161, 0.459, 0.632), "audio->text": (0.170, 0.494, 0.645)},
    256: {"text->audio": (0.167, 0.465, 0.629), "audio->text": (0.170, 0.489, 0.648)},
    512: {"text->audio": (0.172, 0.479, 0.642), "audio->text": (0.209, 0.505, 0.672)},
    1024: {"text->audio": (0.166, 0.465, 0.626), "audio->text": (0.179, 0.496, 0.683)},
    2048: {"text->audio": (0.168, 0.465, 0.637), "audio->text": (0.198, 0.499, 0.672)},
}

#: CS224N Table 2: fine-tuned encoders; the 1024 row is quoted there from Mei et al. (Interspeech 2022).
CS224N_TABLE2: dict[str, dict[str, tuple[float, float, float]]] = {
    "512": {"text->audio": (0.344, 0.698, 0.829), "audio->text": (0.419, 0.740, 0.842)},
    "1024 (Mei et al.)": {"text->audio": (0.339, 0.697, 0.826), "audio->text": (0.394, 0.720, 0.839)},
}

#: CS224N Table 3: point-to-point uniformity sigma (std / mean of nearest-neighbour distances) and
#: voxel uniformity h (entropy of softmax(voxel counts), 8 random sign dimensions = 256 voxels, mean
#: of 100 draws), for text and audio embeddings and the uniform and Gaussian-mixture references.
CS224N_TABLE3: dict[int, dict[str, dict[str, float]]] = {
    128: {"sigma": {"text": 0.27, "audio": 0.29, "uniform": 0.19, "gaussians": 0.35},
          "h": {"text": 3.96, "audio": 3.98, "uniform": 4.13, "gaussians": 2.79}},
    256: {"sigma": {"text": 0.28, "audio": 0.29, "uniform": 0.19, "gaussians": 0.35},
          "h": {"text": 3.94, "audio": 3.99, "uniform": 4.12, "gaussians": 2.75}},
    512: {"sigma": {"text": 0.28, "audio": 0.28, "uniform": 0.19, "gaussians": 0.34},
          "h": {"text": 3.96, "audio": 4.01, "uniform": 4.12, "gaussians": 2.82}},
    1024: {"sigma": {"text": 0.28, "audio": 0.27, "uniform": 0.19, "gaussians": 0.35},
           "h": {"text": 3.98, "audio": 4.00, "uniform": 4.13, "gaussians": 2.83}},
    2048: {"sigma": {"text": 0.27, "audio": 0.28, "uniform": 0.19, "gaussians": 0.34},
           "h": {"text": 3.97, "audio": 4.00, "uniform": 4.13, "gaussians": 2.81}},
}

#: CS224N Table 4: retrieval and voxel uniformity h by the weight alpha of its non-uniformity penalty
#: (a learned voxel-predictor network on 8 random dimensions per batch; ours is Wang-Isola's U).
CS224N_TABLE4: dict[float, dict[str, object]] = {
    0.0: {"text->audio": (0.344, 0.698, 0.829), "audio->text": (0.419, 0.740, 0.842), "h_audio": 4.02, "h_text": 3.98},
    0.10: {"text->audio": (0.323, 0.683, 0.821), "audio->text": (0.378, 0.721, 0.836), "h_audio": 3.99, "h_text": 3.97},
    0.33: {"text->audio": (0.316, 0.664, 0.800), "audio->text": (0.378, 0.704, 0.821), "h_audio": 3.97, "h_text": 3.95},
    1.00: {"text->audio": (0.266, 0.633, 0.784), "audio->text": (0.306, 0.625, 0.806), "h_audio": 4.00, "h_text": 3.95},
}

#: Per table: how the published setting differs from ours (printed under each table of the report).
DIFFERENCES: dict[str, str] = {
    "table1": "Theirs: DCASE 2018 task 2 test set, 41 classes, GloVe text, 500 training pairs, 100 epochs, "
              "dropout 0.5, un-normalized outputs inside the similarity. Ours (main grid): ESC-50 fold 1 held "
              "out, YAMNet + MiniLM, all ~1,400 fitting clips, L2-normalized outputs, dropout 0.2, early "
              "stopping; the faithful-setting grid below follows theirs. Our 'bce' is BCE on d = exp(-L2), "
              "i.e. their exp(-L2) column. Their table does not say which features or direction it scores; "
              "its best cell (61.2%) equals its Table 2 MFCC audio->audio JE cell (61.2%).",
    "table2": "Theirs: DCASE 2018 task 2 (41 classes, one train/test split), WALNet or MFCC, GloVe; ours: "
              "ESC-50 5-fold CV (50 classes), YAMNet or MFCC, MiniLM. Their cross-modal baseline cells are "
              "chance (2.4% = 1/41); ours are undefined. Their 54.7/71.3% are audio->text (test audio JE "
              "against train text JE); text->audio is 100% in both.",
    "fig4": "Theirs: WALNet, noise of 1 and 2 stds on the GloVe features, bar values only in the figure "
            "(not in our source); ours: YAMNet + MiniLM, the same noise levels on MiniLM features.",
    "qualitative": "Theirs: 41 DCASE labels (GloVe similarity; kNN over WALNet-trained JEs); a Freesound "
                   "thunderstorm and an orchestra recording. Ours: 50 ESC-50 labels (MiniLM similarity; kNN "
                   "over the training audio's JEs); audio queries listed with their source.",
    "dims": "Theirs: AudioCaps captions, 957 test clips, PANNs + BERT, frozen encoders (Table 1) or "
            "fine-tuned (Table 2); ours: 50 ESC-50 labels vs 400 held-out clips (R@1 chance 1/50 vs 1/957) "
            "and 7 Clotho clips, frozen YAMNet + MiniLM. Absolute values are not comparable; the shape "
            "of the curve over D is.",
    "uniformity": "Theirs: AudioCaps test embeddings (957 clips, their captions), references of unstated "
                  "size; ours: 400 held-out clips and the 50 label embeddings, references with as many points "
                  "as the set they are read against. Their penalty is a learned voxel predictor; ours is "
                  "Wang-Isola's U.",
}
