"""Audio->audio retrieval on ESC-50: SSL encoder (trained here, without labels) vs MFCC vs YAMNet, plus
the SSL ablation (each deformation switched off in turn). Protocol: `soundseek.ssl.evaluate`.

    .venv/bin/python benchmarks/ssl_eval.py --steps 250 --ablation-steps 250   # all 2,000 clips, ~25 min
    .venv/bin/python benchmarks/ssl_eval.py --per-class 8 --steps 20 --out /tmp/ssl   # smoke run

Writes `ssl_eval.md` and `ssl_eval.json` under --out; models go to --work (resumable: rerunning with
the same --work continues unfinished trainings instead of starting over).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from soundseek.encoders import build_audio_encoder
from soundseek.ssl import evaluate
from soundseek.ssl.triplets import DEFORMATIONS


def baselines(clips: evaluate.ClipSet, models: Path, cache: Path) -> dict[str, dict[str, float]]:
    out = {}
    for name, cfg in (("mfcc", {}), ("yamnet", {"model_dir": str(models), "num_threads": 2})):
        path = cache / f"{name}_{len(clips.names)}.npy"
        if path.is_file():
            vectors = np.load(path)
        else:
            vectors = evaluate.embed_clips(build_audio_encoder(name, cfg), clips.waveforms)
            np.save(path, vectors)
        out[name] = evaluate.leave_source_out_report(vectors, clips.labels, clips.sources)
        print(name, out[name], flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--per-class", type=int, default=None, help="first N clips per category (default: all 40)")
    parser.add_argument("--steps", type=int, default=300, help="training steps of the main SSL model")
    parser.add_argument("--ablation-steps", type=int, default=100, help="steps of each ablation run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-yamnet", action="store_true")
    parser.add_argument("--work", type=Path, default=Path("/tmp/soundseek_ssl_eval"))
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    clips = evaluate.load_esc50(args.shared / "data" / "esc50", per_class=args.per_class)
    print(f"{len(clips.names)} clips loaded", flush=True)
    reports = {} if args.skip_yamnet else baselines(clips, args.shared / "models", args.work)
    ablation = evaluate.ablation(clips, args.work, steps=args.ablation_steps, deformations=DEFORMATIONS,
                                 seed=args.seed)
    # the main model continues the ablation's "all" run (batches are seeded per step, so this equals
    # an uninterrupted run of --steps steps)
    main_dir = evaluate.train_ssl(clips, args.work / "all", steps=args.steps, deformations=DEFORMATIONS, seed=args.seed)
    vectors = evaluate.embed_clips(evaluate.ssl_encoder(main_dir), clips.waveforms)
    reports[f"ssl ({args.steps} steps, no labels)"] = evaluate.leave_source_out_report(vectors, clips.labels, clips.sources)
    text = (f"ESC-50 audio->audio, {len(clips.names)} clips, leave-one-source-out; SSL trained on the same "
            f"clips' audio (no labels), batches of 64 pairs, seed {args.seed}.\n\n"
            + evaluate.markdown_table(reports)
            + f"\nAblation (SSL, {args.ablation_steps} steps each, one deformation switched off):\n\n"
            + evaluate.markdown_table(ablation, title="deformations"))
    (args.out / "ssl_eval.md").write_text(text)
    (args.out / "ssl_eval.json").write_text(json.dumps(
        {"clips": len(clips.names), "steps": args.steps, "ablation_steps": args.ablation_steps, "seed": args.seed, "machine": platform.machine(),
         "seconds": round(time.perf_counter() - start), "encoders": reports, "ablation": ablation}, indent=1))
    print(text)


if __name__ == "__main__":
    main()
