"""TheDiscDb's GraphQL API (thediscdb.com/graphql): a disc's record by its content hash.

One POST of the query the site itself makes for a content hash (its
GetDiscDetailByContentHash, github.com/TheDiscDb/web):

    mediaItems(where: {releases: {some: {discs: {some: {contentHash: {eq: $hash}}}}}})
      -> nodes { title year type externalids { tmdb imdb }
                 releases { slug title year discs { index name format contentHash
                   titles { index duration size sourceFile segmentMap
                            item { title season episode type } } } } }

In the newer schema a release's ``discs`` are ReleaseDisc objects, which carry the same
fields and also ``disc { ... }``: both forms are read. ``duration`` is "h:mm:ss",
``season`` and ``episode`` are text ("1", "1-2" for a double episode). The answer becomes
the same index entry an imported record gives (digitizer/discdb.py reads and applies it).
"""

from __future__ import annotations

import json

QUERY = """query GetDiscDetailByContentHash($hash: String) {
  mediaItems(where: {releases: {some: {discs: {some: {contentHash: {eq: $hash}}}}}}) {
    nodes {
      title
      year
      type
      externalids { tmdb imdb }
      releases {
        slug
        title
        year
        discs(order: {index: ASC}) {
          index
          name
          format
          contentHash
          titles(order: {index: ASC}) {
            index
            duration
            size
            sourceFile
            segmentMap
            item { title season episode type }
          }
        }
      }
    }
  }
}"""


def seconds(duration) -> float | None:
    """"1:02:03" (or "2:03", or a number of seconds) as seconds; None when it is not one."""
    if isinstance(duration, (int, float)) and not isinstance(duration, bool):
        return float(duration)
    parts = str(duration or "").strip().split(":")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        return None
    if not 1 <= len(values) <= 3 or any(v < 0 for v in values):
        return None
    total = 0.0
    for v in values:
        total = total * 60 + v
    return total


def _discs(release: dict):
    for disc in release.get("discs") or []:
        if isinstance(disc, dict) and isinstance(disc.get("disc"), dict):
            # The newer schema: ReleaseDisc { disc { ... } }, its own fields first.
            yield {**disc["disc"], **{k: v for k, v in disc.items()
                                      if k != "disc" and v is not None}}
        elif isinstance(disc, dict):
            yield disc


def entry_of(data, content_hash: str) -> dict | None:
    """The index entry (as discdb.read_disc gives) for `content_hash` in a GraphQL answer;
    None when the answer does not hold that disc. ValueError when it is not an answer."""
    from digitizer.discdb import ITEM_TYPES, last_number, number

    if not isinstance(data, dict) or not isinstance(data.get("data"), dict):
        raise ValueError("no data in the answer")
    nodes = (data["data"].get("mediaItems") or {}).get("nodes")
    if not isinstance(nodes, list):
        raise ValueError("no mediaItems nodes in the answer")
    want = content_hash.upper()
    for node in nodes:
        for release in (node or {}).get("releases") or []:
            for disc in _discs(release or {}):
                if str(disc.get("contentHash") or "").upper() != want:
                    continue
                titles = []
                for t in disc.get("titles") or []:
                    item = (t or {}).get("item") or {}
                    if not t.get("sourceFile") or item.get("type") not in ITEM_TYPES:
                        continue
                    titles.append({"source_file": str(t["sourceFile"]), "type": item["type"],
                                   "name": item.get("title"),
                                   "season": number(item.get("season")),
                                   "episode": number(item.get("episode")),
                                   "episode_last": last_number(item.get("episode")),
                                   "duration": seconds(t.get("duration"))})
                kind = str(node.get("type") or "").lower()
                year = node.get("year")
                return {"content_hash": want,
                        "kind": "show" if kind in ("series", "show", "tv") else "movie",
                        "title": node.get("title") or release.get("title") or "Unknown",
                        "year": year if isinstance(year, int) and year > 0 else None,
                        "release": release.get("slug"), "disc": f"disc{disc.get('index') or 1:02d}",
                        "format": disc.get("format"), "titles": titles,
                        "tmdb": ((node.get("externalids") or {}).get("tmdb") or None)}
    return None


def lookup(cfg, content_hash: str | None, catalog=None) -> dict | None:
    """The disc's entry from TheDiscDb (kept in the catalog: asked once per disc), or None
    (not known there, no URL, offline, no answer)."""
    from digitizer.services.client import Client

    url = cfg.discdb_url
    if not content_hash or not url:
        return None
    key = content_hash.upper()
    client = Client(cfg, "thediscdb", catalog, label="TheDiscDb")
    kept = client.cached(key)
    if kept is not None:
        try:
            return entry_of(json.loads(kept), key) if kept else None
        except ValueError:
            pass  # a kept answer this version cannot read: ask again
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if cfg.discdb_api_key:
        headers["Authorization"] = f"ApiKey {cfg.discdb_api_key}"
    body = json.dumps({"query": QUERY, "variables": {"hash": key},
                       "operationName": "GetDiscDetailByContentHash"}).encode()
    answer = client.get_json(url, data=body, headers=headers)
    if answer is None:
        return None
    status, data = answer
    try:
        if status != 200:
            raise ValueError(f"HTTP {status}")
        if isinstance(data, dict) and data.get("errors") and not data.get("data"):
            raise ValueError("; ".join(str(e.get("message", e)) if isinstance(e, dict) else
                                       str(e) for e in data["errors"])[:200])
        entry = entry_of(data, key)
    except ValueError as exc:
        client.unusable(f"gave no usable answer ({exc})")
        return None
    client.keep(key, json.dumps(data).encode() if entry else b"", found=entry is not None)
    return entry
