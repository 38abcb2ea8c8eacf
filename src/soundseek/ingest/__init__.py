"""Continuous ingestion: watch folders (`watch`), crawl feeds, pages and video sites (`crawl`, `fetch`,
`robots`, `pages`, `ytdl`), and find duplicate recordings (`duplicates`). Nothing is imported here:
import the module you need."""
