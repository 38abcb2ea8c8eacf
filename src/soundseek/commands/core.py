"""Core subcommands: index, search, describe, info, tags, models, demo."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from soundseek.errors import QueryError
from soundseek.vindex.factory import INDEX_KINDS


def register(sub: argparse._SubParsersAction) -> None:
    _register_index(sub)
    _register_search(sub)
    _register_describe(sub)
    _register_info(sub)
    _register_tags(sub)
    _register_models(sub)
    _register_demo(sub)


def _register_index(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("index", help="index folders or files of recordings into a collection")
    p.add_argument("paths", nargs="*", type=Path, help="folders/files (default: the collection's known roots)")
    _collection_arg(p)
    p.add_argument("--encoder", choices=None, help="audio encoder for a new collection (yamnet, mfcc, ...; default: yamnet if installed)")
    p.add_argument("--encoder-config", action="append", default=[], metavar="KEY=VALUE", help="encoder setting (repeatable)")
    p.add_argument("--metadata", type=Path, help="CSV with a 'path' column and descriptions/tags")
    p.add_argument("--max-duration", type=float, default=4 * 3600.0, help="refuse files longer than this (seconds)")
    p.add_argument("--model", type=Path, help="a trained joint model directory to embed the collection with")
    p.add_argument("--index", dest="index_kind", choices=INDEX_KINDS,
                   help="vector index backend, recorded for every later search (default: exact up to 50,000 "
                        "segments; above, compact for 1024-d vectors such as YAMNet's and hnsw for narrower ones; "
                        "compact keeps ~540 bytes a segment instead of ~4,500; ivfpq and lsh trade recall for "
                        "memory, see docs/index.md)")
    p.add_argument("--store", metavar="URI",
                   help="keep the vectors in Milvus, recorded for every later command: milvus:///path/file.db "
                        "(embedded milvus-lite) or http://host:19530 (a Milvus server); only for a new collection; "
                        "needs pip install 'soundseek[scale]' (see docs/scale.md)")
    p.add_argument("--no-learn", action="store_true",
                   help="do not fit the library model (what the named sounds teach about the wordless ones)")
    p.add_argument("--wait", action="store_true",
                   help="when another run is writing the collection, wait for it (default: refuse and say who)")
    p.add_argument("--allow-outside-links", action="store_true",
                   help="read .txt/.json sidecars even when they are symlinks leading outside the indexed folders")
    p.add_argument("--jobs", type=int, metavar="N",
                   help="decode and embed in N worker processes while this one writes the collection (default: "
                        "the CPUs this process may use; a file that crashes its worker is skipped with the reason); "
                        "with --ray: the number of Ray workers (default: this machine's CPUs, or all the cluster's)")
    _ray_args(p)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_index)


def _register_search(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("search", help="search by words, or by an example sound with --audio",
                       description="Search by words, by an example sound, or both: 'like this, but ...'.",
                       epilog="examples:\n  soundseek search \"glass shattering\"\n"
                              "  soundseek search --audio door.wav \"metallic\"     (like door.wav, but metallic)\n"
                              "  soundseek search --audio street.wav --without speech\n"
                              "  soundseek search \"crowd\" --without \"music\"",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("query", nargs="?", help="text query, e.g. \"glass shattering\"; with --audio, words the "
                                            "hits should also be about")
    p.add_argument("--audio", type=Path, help="query by example: an audio file")
    p.add_argument("--without", metavar="WORDS", help="push away from these words, e.g. \"speech\"")
    g = p.add_argument_group("export the hits")
    g.add_argument("--export", type=Path, metavar="DIR", help="copy the hits' original files into DIR "
                                                               "(never overwriting: name_2.wav, ...)")
    g.add_argument("--segments", action="store_true", help="with --export: render each hit's segment to WAV "
                                                            "(its own rate and channels) instead")
    g.add_argument("--lufs", type=float, help="with --export: normalize each exported sound to this integrated "
                                              "loudness, e.g. -23 (default: as recorded)")
    p.add_argument("--start", type=float, help="start (s) of the part of --audio to use (default: 0)")
    p.add_argument("--end", type=float, help="end (s) of the part of --audio to use (default: its end)")
    _search_args(p)
    p.set_defaults(func=cmd_search)


def _register_describe(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("describe", help="suggest tags and words for a sound (audio -> text)")
    p.add_argument("file", type=Path)
    _collection_arg(p)
    p.add_argument("--top", type=int, default=10)
    p.add_argument("--model", type=Path, help="a trained joint model directory (adds its nearest labels)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_describe)


def _register_info(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="what a collection holds, and the files it could not read")
    _collection_arg(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_info)


def _register_tags(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tags", help="the collection's most frequent sound event tags")
    _collection_arg(p)
    p.add_argument("--top", type=int, default=30)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_tags)


def _register_models(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="install pretrained models (explicit downloads, checked by sha256)")
    msub = p.add_subparsers(dest="action", required=True)
    m = msub.add_parser("pull", help="download a model's official files")
    m.add_argument("name", choices=["yamnet"])
    m.set_defaults(func=cmd_models_pull)
    m = msub.add_parser("add", help="install local copies of a model's files (checked by sha256)")
    m.add_argument("name", choices=["yamnet"])
    m.add_argument("files", nargs="+", type=Path)
    m.set_defaults(func=cmd_models_add)
    m = msub.add_parser("list", help="show the models directory and what is installed")
    m.set_defaults(func=cmd_models_list)


def _register_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="synthesize a labelled demo library, index it, and run searches")
    p.add_argument("--dir", type=Path, help="where to write the demo library and collection (default: a temp dir)")
    p.add_argument("--encoder", help="audio encoder (default: yamnet if installed, else mfcc)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_demo)


def _ray_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("distributed indexing (the 'scale' extra; docs/distributed-indexing.md)")
    g.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                   help="decode and embed on Ray workers: a cluster's HOST:PORT (or 'auto'); without an address, "
                        "a local Ray instance for this run. Put it after the folders, or write --ray=ADDRESS")


def _collection_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--collection", type=Path, help="collection directory (default: $SOUNDSEEK_HOME/collection)")


def _search_args(p: argparse.ArgumentParser) -> None:
    _collection_arg(p)
    p.add_argument("--top", type=int, default=10, help="number of results (files)")
    p.add_argument("--offset", type=int, default=0, help="skip this many results (pagination)")
    p.add_argument("--json", action="store_true", help="print a JSON list of hits")
    p.add_argument("--min-duration", type=float, help="only sounds at least this long (s)")
    p.add_argument("--max-duration", type=float, help="only sounds at most this long (s)")
    p.add_argument("--sample-rate", type=int, help="only sounds at this sample rate (Hz)")
    p.add_argument("--channels", type=int, help="only sounds with this many channels")
    p.add_argument("--tag", help="only sounds with this AudioSet tag")
    p.add_argument("--path", dest="path_glob", help="only paths matching this glob, e.g. '*/rain/*'")
    p.add_argument("--model", type=Path, help="a trained joint model directory")


def resolve_collection(path: Path | None) -> Path:
    from soundseek.store import default_collection_dir

    return Path(path) if path else default_collection_dir()


def _say(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    return (lambda msg: None) if getattr(args, "quiet", False) else (lambda msg: print(msg, file=sys.stderr))


def parse_settings(items: list[str]) -> dict:
    out: dict = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise QueryError(f"--encoder-config wants KEY=VALUE, got {item!r}")
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


def cmd_index(args: argparse.Namespace) -> int:
    from soundseek.indexer import index_paths, open_for_indexing
    from soundseek.library.textmeta import load_metadata_csv

    root = resolve_collection(args.collection)
    todo_indexer = todo_indexer_from(args)  # before the collection is touched: a bad option changes nothing
    coll, encoder = open_for_indexing(root, args.encoder, parse_settings(args.encoder_config) or None, say=_say(args))
    paths = list(args.paths) or coll.roots()
    if not paths:
        raise QueryError("nothing to index: give one or more folders")
    metadata = load_metadata_csv(args.metadata) if args.metadata else None
    if args.store:
        from soundseek.store.milvus import parse_store
        coll.set_store(parse_store(args.store, root))
    if args.index_kind and coll.store_spec is not None:
        raise QueryError("--index picks the embedded vector index; a collection stored in Milvus uses Milvus' HNSW")
    if args.index_kind and args.index_kind != coll.index_kind:
        coll.set_meta("index_kind", args.index_kind)
    report = index_paths(coll, paths, encoder, metadata=metadata, max_duration=args.max_duration, quiet=args.quiet,
                         wait=args.wait, outside_links=args.allow_outside_links, index_todo=todo_indexer)
    if args.model:
        from soundseek.search.joint import attach_model
        attach_model(coll, args.model)
    print_index_report(report, root, quiet=args.quiet)
    print_indexer_stats(todo_indexer)
    if not args.no_learn:
        from soundseek.search.library import learn_from_library
        print(learn_from_library(coll))
    return 0


def todo_indexer_from(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """How `index` embeds: on Ray with `--ray [ADDRESS]`, else in `--jobs N` worker processes."""
    from soundseek.jobs import ProcessIndexer, check_jobs

    if args.jobs is not None:
        check_jobs(args.jobs)  # 0 or negative: refused, with or without --ray
    if args.ray is None:
        return ProcessIndexer(check_jobs(args.jobs))
    from soundseek.distributed import RayIndexer, RayOptions, require_ray

    if args.ray and Path(args.ray).exists():
        raise QueryError(f"--ray {args.ray}: that is a path, not a Ray address; put --ray after the folders "
                         "(soundseek index FOLDER --ray), or write --ray=HOST:PORT")
    require_ray()
    return RayIndexer(RayOptions(address=args.ray or None, workers=args.jobs))


def print_indexer_stats(indexer) -> None:  # type: ignore[no-untyped-def]
    """One line on the worker processes or Ray workers of the run, when there were any."""
    from soundseek.jobs import ProcessIndexer

    st = indexer.stats
    if isinstance(indexer, ProcessIndexer):
        if st.deaths:
            print(f"worker processes: {st.workers} started, {st.deaths} died on a file (skipped, reason above)")
    elif st.partitions:
        print(f"ray: {st.partitions} partitions on {st.workers} worker(s): {st.computed} computed, "
              f"{st.reused} reused from an interrupted run")


def print_index_report(report, root: Path, *, quiet: bool = False) -> None:  # type: ignore[no-untyped-def]
    speed = report.audio_seconds / report.wall_seconds if report.wall_seconds else 0.0
    print(f"collection: {root}")
    if report.repaired:
        print(f"repaired the Milvus store: {report.repaired.stale_rows} stale row(s) deleted, "
              f"{report.repaired.forgotten_sounds} file(s) indexed again")
    print(f"added {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
          f"removed {report.removed}, moved {report.moved}, failed {len(report.failed)}  "
          f"({report.audio_seconds:.0f} s of audio in {report.wall_seconds:.1f} s, {speed:.0f}x real time)")
    for path, reason in report.failed:
        print(f"  skipped {path}: {reason}")
    for root in report.missing_roots:
        print(f"  not found: {root} (unplugged? its sounds are kept until it is indexed again)")
    for folder, reason in report.unreadable_folders:
        print(f"  skipped folder {folder}: {reason} (its sounds, if any were indexed, are kept)")


def build_filters(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from soundseek.search.engine import Filters

    return Filters(args.min_duration, args.max_duration, args.sample_rate, args.channels, args.tag, args.path_glob)


def cmd_search(args: argparse.Namespace) -> int:
    from soundseek.commands.output import hits_json, hits_table
    from soundseek.search.engine import open_engine
    from soundseek.search.relevance import NO_MATCH_THRESHOLD, no_good_match

    if not args.query and not args.audio:
        raise QueryError("give a text query, or --audio FILE (optionally with words: --audio x.wav \"metallic\" "
                         "--without speech)")
    if (args.segments or args.lufs is not None) and not args.export:
        raise QueryError("--segments and --lufs go with --export DIR")
    if args.export:
        from soundseek.export import check_lufs
        check_lufs(args.lufs)  # a bad target fails before searching
    engine = open_engine(resolve_collection(args.collection), args.model)
    hits = run_search(engine, args, build_filters(args))
    if not args.json and no_good_match([h.relevance for h in hits]):
        best = max(h.relevance or 0.0 for h in hits)
        print(f"no good match for {args.query!r} (best relevance {best:.2f}, a match needs {NO_MATCH_THRESHOLD:.2f});"
              " the closest sounds:")
    print(hits_json(hits) if args.json else hits_table(hits))
    if args.export:
        export_hits(hits, args)
    return 0


def export_hits(hits, args: argparse.Namespace) -> None:  # type: ignore[no-untyped-def]
    from soundseek.export import ExportItem, export_to_folder

    done = export_to_folder([ExportItem(h.path, h.start, h.end) for h in hits], args.export,
                            segments=args.segments, lufs=args.lufs)
    what = "segments" if args.segments else "files"
    print(f"exported {len(done)} {what} to {args.export}", file=sys.stderr)
    for item in done:
        if item.note:
            print(f"  {item.name}: {item.note}", file=sys.stderr)


def run_search(engine, args: argparse.Namespace, filters):  # type: ignore[no-untyped-def]
    """The hits for a parsed `search` command: text, example, example steered by words, or text --without."""
    from soundseek.search import steer

    page = {"top": args.top, "offset": args.offset, "filters": filters}
    if args.audio:
        how = steer.Steer.of(args.query, args.without)
        if how.active():
            return steer.search_audio_like(engine, args.audio, how, start=args.start, end=args.end, **page)
        return engine.search_audio(args.audio, start=args.start, end=args.end, **page)
    if args.without:
        return steer.text_without(engine, args.query, args.without, **page)
    return engine.search_text(args.query, **page)


def cmd_describe(args: argparse.Namespace) -> int:
    from soundseek.commands.output import table
    from soundseek.search.describe import describe
    from soundseek.search.engine import open_engine

    engine = open_engine(resolve_collection(args.collection), args.model)
    suggestions = describe(engine, args.file, top=args.top)
    if args.json:
        print(json.dumps([s.to_dict() for s in suggestions], indent=2))
    else:
        print(table([(s.source, s.text, s.score) for s in suggestions], ("source", "suggestion", "score")))
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from soundseek.commands.ingest_status import crawl_status, print_crawl_status
    from soundseek.store import Collection

    root = resolve_collection(args.collection)
    coll = Collection.open(root)
    info = {"collection": str(root), "audio_encoder": coll.audio_encoder,
            "audio_encoder_config": coll.audio_encoder_config, **coll.counts(),
            "spaces": coll.spaces(), "roots": [str(r) for r in coll.roots()],
            "joint_model": coll.meta("joint_model"), "library_model": coll.meta("library_model"),
            "failures": [{"path": p, "reason": r} for p, r in coll.failures()],
            "crawl_sources": crawl_status(coll), "store": _store_info(coll)}
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    settings = ", ".join(f"{k}={v}" for k, v in info["audio_encoder_config"].items() if v is not None)
    print(f"collection: {root}\naudio encoder: {info['audio_encoder']}" + (f" ({settings})" if settings else "") + "\n"
          f"sounds: {info['sounds']} ({info['seconds'] / 3600:.2f} h), segments: {info['segments']}\n"
          f"embedding spaces: {', '.join(info['spaces']) or '-'}\nroots: {', '.join(info['roots']) or '-'}")
    store = info["store"]
    print(f"vectors: {store['uri']}" + (f" ({store['rows']} segment rows)" if "rows" in store else ""))
    if info["joint_model"]:
        print(f"joint model: {info['joint_model']}")
    print(f"library model: {_library_line(info['library_model'])}")
    print_crawl_status(info["crawl_sources"])
    print(f"unreadable files: {len(info['failures'])}")
    for item in info["failures"]:
        print(f"  {item['path']}: {item['reason']}")
    return 0


def _store_info(coll) -> dict:  # type: ignore[no-untyped-def]
    """Where the collection's vectors live (and how many segment rows Milvus holds)."""
    spec, store = coll.store_spec, coll.segment_store
    if spec is None or store is None:
        return {"kind": "embedded", "uri": "embedded (SQLite, FAISS cache in index/)"}
    return {"kind": "milvus-lite" if spec.is_file else "milvus", "uri": spec.uri, "collection": spec.collection,
            "rows": store.count()}


def _library_line(meta: dict | None) -> str:
    from soundseek.search.library import LibrarySummary, describe_summary

    if not meta:
        return "not fitted yet (run `soundseek index`)"
    if "skipped" in meta:
        return f"skipped ({meta['skipped']})"
    return describe_summary(LibrarySummary(**meta))


def cmd_tags(args: argparse.Namespace) -> int:
    from soundseek.commands.output import table
    from soundseek.store import Collection

    coll = Collection.open(resolve_collection(args.collection))
    counts = coll.tag_counts(limit=args.top)
    if args.json:
        print(json.dumps([{"tag": t, "sounds": n} for t, n in counts], indent=2))
    elif not counts:
        print("no tags (tags come from YAMNet: `soundseek models pull yamnet`, then re-index)")
    else:
        print(table(counts, ("tag", "sounds")))
    return 0


def cmd_models_pull(args: argparse.Namespace) -> int:
    import soundseek.encoders.models as models

    for path in models.pull(args.name):
        print(f"installed {path}")
    return 0


def cmd_models_add(args: argparse.Namespace) -> int:
    import soundseek.encoders.models as models

    for path in models.add(args.name, args.files):
        print(f"installed {path}")
    missing = [f.filename for f in models.MODEL_FILES[args.name] if not models.model_path(args.name, f.filename).is_file()]
    if missing:
        print(f"still missing for '{args.name}': {', '.join(missing)}")
    return 0


def cmd_models_list(args: argparse.Namespace) -> int:
    import soundseek.encoders.models as models

    print(f"models directory: {models.models_dir()}  (set SOUNDSEEK_MODELS to move it)")
    for name in models.MODEL_FILES:
        print(f"  {name}: {'installed' if models.is_installed(name) else 'not installed'}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from soundseek.commands.demo import run_demo

    return run_demo(args.dir, encoder=args.encoder, quiet=args.quiet)
