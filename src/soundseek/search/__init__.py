"""Stage 6, search: the engine that answers text, audio and "more like this" queries over a collection.

`engine` ranks and filters (`open_engine` builds one for the CLI and the server alike), `state` loads
what it holds in memory, `zeroshot` maps words to AudioSet classes, `joint` fuses an attached trained
joint model, `describe` turns a sound into words.
"""
