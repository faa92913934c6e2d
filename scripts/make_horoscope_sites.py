"""Generate the bundled horoscope sample sites (three sources, different markup) for a seed.

Three sites with the same content model and different markup, served by
`stackpipes.horoscope.sites` and read by `stackpipes.horoscope.scrape`:

- starlight (English HTML): one page per sign per day, `starlight/daily/{date}/{sign}.html`
- zvezdy (Russian HTML): one page per day with all signs, `zvezdy/goroskop/{date}.html`
- astroapi (English JSON): one document per day, `astroapi/api/v1/horoscope/{date}.json`

Texts come from phrase banks (love, work, health, money) and are mostly 300-500 characters. Some
rows are planted for the cleaning stage to handle: short and long texts, exact duplicates (within a
source and one syndicated across sources), empty texts and decorative symbols. `manifest.json`
lists every planted row, so tests of later stages check against what was planted.

    python scripts/make_horoscope_sites.py --out data/horoscope_sites
"""

from __future__ import annotations

import argparse
import html
import json
import random
import shutil
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from stackpipes.horoscope.schema import SIGNS

DEFAULT_FIRST_DAY = "2026-11-01"
DEFAULT_DAYS = 7
DEFAULT_SEED = 2026

# Length bands in characters: the normal band is what the cleaning stage keeps.
NORMAL_LENGTH = (300, 500)
SHORT_LENGTH = (120, 280)
LONG_LENGTH = (560, 900)
# Planted rows per source (symbols: share of the remaining rows that get decorations).
PLANTED_PER_SOURCE = {"short": 2, "long": 2, "duplicate": 2, "empty": 1}
SYMBOL_SHARE = 0.1

SIGN_FACTS_EN = {  # sign: (ruling body, trait)
    "aries": ("Mars", "bold"), "taurus": ("Venus", "patient"), "gemini": ("Mercury", "curious"),
    "cancer": ("the Moon", "caring"), "leo": ("the Sun", "generous"),
    "virgo": ("Mercury", "careful"),
    "libra": ("Venus", "diplomatic"), "scorpio": ("Pluto", "intense"),
    "sagittarius": ("Jupiter", "adventurous"), "capricorn": ("Saturn", "disciplined"),
    "aquarius": ("Uranus", "independent"), "pisces": ("Neptune", "dreamy"),
}
# sign: (name, ruling body in the nominative and the genitive, trait agreeing with "натура")
SIGN_FACTS_RU = {
    "aries": ("Овен", "Марс", "Марса", "смелая"),
    "taurus": ("Телец", "Венера", "Венеры", "терпеливая"),
    "gemini": ("Близнецы", "Меркурий", "Меркурия", "любознательная"),
    "cancer": ("Рак", "Луна", "Луны", "заботливая"),
    "leo": ("Лев", "Солнце", "Солнца", "щедрая"),
    "virgo": ("Дева", "Меркурий", "Меркурия", "внимательная"),
    "libra": ("Весы", "Венера", "Венеры", "дипломатичная"),
    "scorpio": ("Скорпион", "Плутон", "Плутона", "страстная"),
    "sagittarius": ("Стрелец", "Юпитер", "Юпитера", "свободолюбивая"),
    "capricorn": ("Козерог", "Сатурн", "Сатурна", "целеустремлённая"),
    "aquarius": ("Водолей", "Уран", "Урана", "независимая"),
    "pisces": ("Рыбы", "Нептун", "Нептуна", "мечтательная"),
}

TOPICS_EN = {
    "love": [
        "In love, a frank conversation with {person} clears the air {time}.",
        "Romance is gentle rather than dramatic today, so enjoy the small signs of affection.",
        "If you are single, an invitation you almost turned down could bring a pleasant meeting.",
        "Your partner needs a little more attention than usual; listen before you offer advice.",
        "An old flame may get in touch, but think twice before reopening that chapter.",
        "Share a plan for the weekend with {person} and watch how quickly the mood lifts.",
        "A small gesture, like a handwritten note, says more than a long speech tonight.",
        "Jealousy has no place in your heart today; trust works better than questions.",
        "Someone close admires your honesty more than you realise.",
        "Let {person} surprise you {time} instead of planning every detail yourself.",
    ],
    "work": [
        "At work, a task you have postponed turns out to be easier than expected.",
        "A colleague may ask for your help {time}; saying yes builds useful goodwill.",
        "Keep your notes in order, because a meeting could shift priorities without warning.",
        "Your ideas get a fair hearing if you present them with facts and a clear deadline.",
        "Avoid signing anything important until you have read the small print twice.",
        "A project that stalled last week starts moving again once you make one phone call.",
        "Someone senior notices the care you put into details.",
        "Resist the urge to do everything yourself; delegating one job frees your afternoon.",
        "A new contact made online could lead to an interesting offer later this month.",
        "Finish what is on your desk before you take on anything new.",
    ],
    "health": [
        "Your energy dips {time}, so plan a short walk and a proper meal.",
        "A glass of water and ten minutes of stretching will do more for you than another coffee.",
        "Sleep is your best medicine tonight; put the phone away an hour before bed.",
        "Mild tension in the shoulders is a sign to take breaks from the screen.",
        "Try a new sport or a dance class; your body is ready for a change of rhythm.",
        "Fresh air {time} clears your head and lifts your mood.",
        "Listen to your body and do not skip breakfast, even on a busy day.",
        "A calm evening at home restores more energy than a crowded party.",
        "Keep an eye on sweets today; your sugar cravings are louder than usual.",
    ],
    "money": [
        "Financially, it is a day to check your budget rather than to make big purchases.",
        "A small refund or a forgotten payment may land in your account.",
        "Impulse shopping is tempting {time}, so sleep on any purchase over a modest sum.",
        "A friend's tip about saving on bills is worth following up.",
        "Money spent on learning a new skill pays back sooner than you think.",
        "Lending money to an acquaintance is not a good idea right now.",
        "Review your subscriptions; one of them is quietly draining your wallet.",
        "An unexpected expense is manageable if you keep a little in reserve.",
        "Your talent for negotiating could earn you a better price on something you need.",
    ],
}
SLOTS_EN = {
    "time": ["this morning", "around midday", "in the afternoon", "later in the evening",
             "before lunch", "by the end of the day"],
    "person": ["your partner", "a close friend", "a sibling", "an old friend",
               "someone you met recently"],
    "daypart": ["morning", "afternoon", "evening"],
    "colour": ["deep blue", "emerald green", "soft gold", "silver", "coral", "lavender"],
}
CLOSERS_EN = [
    "Lucky number: {number}.", "Lucky colour: {colour}.",
    "Trust yourself and the rest will follow.",
    "Smile; the day is on your side.",
]
OPENERS_STARLIGHT = [
    "{Sign}, with {planet} lighting up your chart, your {trait} side is hard to ignore today.",
    "The day opens quietly for you, {Sign}, but {planet} has a few surprises lined up.",
    "{planet} nudges you, {Sign}, to trust your {trait} instincts before the week gets busy.",
    "Today asks you to slow down, {Sign}, and let your {trait} nature set the pace.",
    "A fresh wind from {planet} reaches you this {daypart}, {Sign}.",
    "There is a bright, restless energy around you today, {Sign}.",
    "{Sign}, the stars favour small, steady steps over grand gestures today.",
    "The Moon in your sector of plans makes this a good day to take stock, {Sign}.",
]
OPENERS_ASTROAPI = [
    "Overall outlook for {Sign}: steady, with a lift {time}.",
    "Key theme for {Sign} today: balance between duty and rest.",
    "The planetary weather is mixed for {Sign}, with {planet} adding extra drive.",
    "Today's transits highlight your {trait} qualities, {Sign}.",
    "For {Sign}, {planet} sets a practical tone this {daypart}.",
    "Energy level for {Sign}: rising, though patience is still needed.",
]

TOPICS_RU = {
    "love": [
        "В любви откровенный разговор {with_person} поможет прояснить недоговорённости.",
        "Романтика сегодня тихая и нежная, цените маленькие знаки внимания.",
        "Одиноким стоит принять приглашение, от которого хотелось отказаться: "
        "возможна приятная встреча.",
        "Партнёру нужно чуть больше внимания, чем обычно; сначала выслушайте, потом советуйте.",
        "Прошлое может напомнить о себе, но не спешите возвращаться к старым отношениям.",
        "Небольшой сюрприз для близкого человека {time} поднимет настроение вам обоим.",
        "Ревность сегодня лишняя: доверие работает лучше, чем расспросы.",
        "Кто-то рядом ценит вашу искренность больше, чем вам кажется.",
        "Обсудите планы на выходные {with_person}, и атмосфера заметно потеплеет.",
    ],
    "work": [
        "На работе задача, которую вы откладывали, окажется проще, чем казалось.",
        "Коллега может попросить о помощи {time}; не отказывайте, это укрепит ваши позиции.",
        "Держите записи в порядке: совещание может неожиданно поменять приоритеты.",
        "Ваши идеи услышат, если вы подкрепите их фактами и чёткими сроками.",
        "Не подписывайте важные документы, пока дважды не перечитаете мелкий шрифт.",
        "Застопорившийся проект сдвинется с места после одного телефонного звонка.",
        "Руководство заметит, как внимательно вы относитесь к деталям.",
        "Не берите всё на себя: поручите часть дел другим, и вечер освободится.",
        "Новое знакомство в сети может обернуться интересным предложением.",
    ],
    "health": [
        "Энергия может пойти на спад {time}, поэтому запланируйте прогулку и полноценный обед.",
        "Стакан воды и десять минут растяжки помогут больше, чем ещё одна чашка кофе.",
        "Лучшее лекарство сегодня — сон: отложите телефон за час до отхода ко сну.",
        "Напряжение в плечах — знак, что пора делать перерывы в работе за экраном.",
        "Попробуйте новый вид спорта или танцы: телу хочется сменить ритм.",
        "Свежий воздух {time} прояснит мысли и поднимет настроение.",
        "Не пропускайте завтрак, даже если день обещает быть насыщенным.",
        "Спокойный вечер дома восстановит силы лучше шумной вечеринки.",
    ],
    "money": [
        "В финансах лучше проверить бюджет, чем совершать крупные покупки.",
        "На счёт может поступить небольшой возврат или забытый платёж.",
        "{time} захочется импульсивных покупок; отложите решение до завтра.",
        "Совет друга о том, как сэкономить на счетах, стоит проверить.",
        "Деньги, вложенные в обучение, окупятся быстрее, чем вы думаете.",
        "Сейчас не лучшее время давать в долг малознакомым людям.",
        "Пересмотрите подписки: одна из них незаметно опустошает кошелёк.",
        "Непредвиденный расход не выбьет из колеи, если у вас есть небольшой запас.",
    ],
}
SLOTS_RU = {
    "time": ["утром", "в середине дня", "после обеда", "ближе к вечеру", "вечером"],
    "with_person": ["с партнёром", "с близким другом", "с родственником", "со старым знакомым",
                    "с коллегой"],
    "colour": ["синий", "изумрудный", "золотистый", "серебристый", "коралловый", "лавандовый"],
}
CLOSERS_RU = ["Счастливое число: {number}.", "Цвет дня: {colour}.",
              "Доверьтесь себе, и всё сложится."]
OPENERS_ZVEZDY = [
    "{Sign}, под влиянием {planet_gen} ваша {trait} натура сегодня проявится особенно ярко.",
    "День начинается спокойно, но к вечеру {planet} может преподнести сюрприз.",
    "Сегодня звёзды советуют вам, {Sign}, не торопить события.",
    "{Sign}, этот день подходит для небольших, но уверенных шагов.",
    "Луна в секторе планов помогает вам трезво оценить ситуацию.",
    "Вокруг вас сегодня много энергии, и её стоит направить в нужное русло.",
    "Положение {planet_gen} подсказывает: доверьтесь интуиции.",
]

# Decorations a site adds to some texts; the cleaning stage strips them.
SYMBOLS = {
    "starlight": [("★ ", ""), ("", " ✨"), ("", " © Starlight")],
    "zvezdy": [("★★★ ", ""), ("", " ✨"), ("", " 🌙")],
    "astroapi": [("✨ ", ""), ("", " 💫"), ("", " ©2026 AstroAPI")],
}

INLINE_AD = "Advertisement · Tarot readings from $1 a minute"
MOODS = ["calm", "upbeat", "reflective", "busy"]  # AstroAPI's extra field, ignored by the scraper
MONTHS_EN = ["January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December"]
WEEKDAYS_EN = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS_RU_GENITIVE = ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
                      "сентября", "октября", "ноября", "декабря"]


@dataclass
class Entry:
    """One horoscope as a site publishes it: its sentences and the decoration around them."""

    source: str
    day: str
    sign: str
    sentences: list[str]
    prefix: str = ""
    suffix: str = ""
    planted: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        body = " ".join(self.sentences)
        return f"{self.prefix}{body}{self.suffix}" if body else ""


@dataclass(frozen=True)
class Voice:
    """A source's language resources: openers, topic sentences, closers and slot fillers."""

    openers: list[str]
    topics: dict[str, list[str]]
    closers: list[str]
    slots: dict[str, list[str]]
    sign_values: dict[str, dict[str, str]]


def _sign_values_en() -> dict[str, dict[str, str]]:
    return {sign: {"Sign": sign.capitalize(), "planet": planet, "trait": trait}
            for sign, (planet, trait) in SIGN_FACTS_EN.items()}


def _sign_values_ru() -> dict[str, dict[str, str]]:
    return {sign: {"Sign": name, "planet": planet, "planet_gen": genitive, "trait": trait}
            for sign, (name, planet, genitive, trait) in SIGN_FACTS_RU.items()}


VOICES = {
    "starlight": Voice(OPENERS_STARLIGHT, TOPICS_EN, CLOSERS_EN, SLOTS_EN, _sign_values_en()),
    "zvezdy": Voice(OPENERS_ZVEZDY, TOPICS_RU, CLOSERS_RU, SLOTS_RU, _sign_values_ru()),
    "astroapi": Voice(OPENERS_ASTROAPI, TOPICS_EN, CLOSERS_EN, SLOTS_EN, _sign_values_en()),
}


def _fill(template: str, rng: random.Random, voice: Voice, sign: str) -> str:
    values = {name: rng.choice(options) for name, options in voice.slots.items()}
    values["number"] = str(rng.randint(1, 99))
    values.update(voice.sign_values[sign])
    sentence = template.format(**values)
    return sentence[0].upper() + sentence[1:]


def _candidate(rng: random.Random, voice: Voice, sign: str, per_topic: int) -> list[str]:
    """An opener, `per_topic` sentences per topic in a random topic order, sometimes a closer."""
    sentences = [_fill(rng.choice(voice.openers), rng, voice, sign)]
    topics = list(voice.topics)
    rng.shuffle(topics)
    for topic in topics:
        for template in rng.sample(voice.topics[topic], per_topic):
            sentences.append(_fill(template, rng, voice, sign))
    if rng.random() < 0.5:
        sentences.append(_fill(rng.choice(voice.closers), rng, voice, sign))
    return sentences


def compose(rng: random.Random, voice: Voice, sign: str, length: tuple[int, int],
            reserve: int = 0) -> list[str]:
    """Sentences whose joined length (plus `reserve` for decorations) falls inside `length`."""
    low, high = length
    per_topic = 2 if low > NORMAL_LENGTH[1] else 1
    for _ in range(200):
        chosen: list[str] = []
        size = reserve - 1
        for sentence in _candidate(rng, voice, sign, per_topic):
            if size + 1 + len(sentence) > high:
                continue
            chosen.append(sentence)
            size += 1 + len(sentence)
            # stop somewhere inside the band, not always at the top of it
            if size >= low and rng.random() < 0.35:
                break
        if low <= size <= high:
            return chosen
    raise RuntimeError(f"no text of {low}-{high} characters for {sign}; too few phrases")


def _plant(rng: random.Random, keys: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """Which (day, sign) of a source gets which planted anomaly; each key at most one."""
    total = sum(PLANTED_PER_SOURCE.values())
    chosen = rng.sample(keys, total)
    kinds = [kind for kind, count in PLANTED_PER_SOURCE.items() for _ in range(count)]
    return dict(zip(chosen, kinds, strict=True))


def _source_entries(source: str, days: list[str], rng: random.Random,
                    seen: set[str]) -> list[Entry]:
    voice = VOICES[source]
    keys = [(day, sign) for day in days for sign in SIGNS]
    planted = _plant(rng, keys)
    entries = []
    for day, sign in keys:
        kind = planted.get((day, sign))
        entry = Entry(source, day, sign, [], planted=[kind] if kind else [])
        if kind == "empty":
            entries.append(entry)
            continue
        if kind is None and rng.random() < SYMBOL_SHARE:
            entry.prefix, entry.suffix = rng.choice(SYMBOLS[source])
            entry.planted.append("symbols")
        band = {"short": SHORT_LENGTH, "long": LONG_LENGTH}.get(kind or "", NORMAL_LENGTH)
        reserve = len(entry.prefix) + len(entry.suffix)
        # texts are unique unless planted as duplicates, so duplicates are exactly the planted ones
        while not entry.sentences or entry.text in seen:
            entry.sentences = compose(rng, voice, sign, band, reserve)
        seen.add(entry.text)
        entries.append(entry)
    return entries


def _copy_text(target: Entry, original: Entry) -> None:
    target.sentences = list(original.sentences)
    target.prefix, target.suffix = original.prefix, original.suffix


def _plant_duplicates(entries: list[Entry], rng: random.Random) -> list[dict]:
    """A duplicate republishes the text of another non-planted row of the same source."""
    originals = [e for e in entries if not e.planted]
    notes = []
    for entry in (e for e in entries if "duplicate" in e.planted):
        original = rng.choice(originals)
        _copy_text(entry, original)
        notes.append(_duplicate_note(entry, original))
    return notes


def _key(entry: Entry) -> dict[str, str]:
    return {"source": entry.source, "date": entry.day, "sign": entry.sign}


def _duplicate_note(entry: Entry, original: Entry) -> dict:
    return {**_key(entry), "kind": "duplicate", "of": _key(original)}


def generate_corpus(days: list[str],
                    seed: int = DEFAULT_SEED) -> tuple[dict[str, list[Entry]], list[dict]]:
    """All entries per source and the list of planted rows (deterministic for `days` and `seed`)."""
    rng = random.Random(seed)
    seen: set[str] = set()
    corpus = {source: _source_entries(source, days, rng, seen) for source in VOICES}
    planted = []
    for entries in corpus.values():
        planted.extend(_plant_duplicates(entries, rng))
    # syndication: the API republishes one Starlight text word for word
    copy = rng.choice([e for e in corpus["astroapi"] if not e.planted])
    original = rng.choice([e for e in corpus["starlight"] if not e.planted and e.sign == copy.sign])
    _copy_text(copy, original)
    copy.planted.append("duplicate")
    planted.append(_duplicate_note(copy, original))
    for entries in corpus.values():
        for entry in entries:
            planted.extend({**_key(entry), "kind": kind}
                           for kind in entry.planted if kind != "duplicate")
    planted.sort(key=lambda p: (p["source"], p["date"], p["sign"], p["kind"]))
    return corpus, planted


# ---- Starlight: English HTML, one page per sign per day -------------------------------------

def _english_date(day: date) -> str:
    return f"{WEEKDAYS_EN[day.weekday()]}, {MONTHS_EN[day.month - 1]} {day.day}, {day.year}"


def _paragraphs(entry: Entry) -> list[str]:
    """The text split into two or three paragraphs (decorations stay at the ends)."""
    if not entry.sentences:
        return []
    sentences = list(entry.sentences)
    sentences[0] = entry.prefix + sentences[0]
    sentences[-1] = sentences[-1] + entry.suffix
    parts = 3 if len(sentences) > 6 else min(2, len(sentences))
    size = -(-len(sentences) // parts)
    return [" ".join(sentences[i:i + size]) for i in range(0, len(sentences), size)]


def starlight_page(entry: Entry, rng: random.Random) -> str:
    day = date.fromisoformat(entry.day)
    title = entry.sign.capitalize()
    paragraphs = [f"<p>{html.escape(p)}</p>" for p in _paragraphs(entry)]
    if len(paragraphs) > 1 and rng.random() < 0.15:  # an in-article ad the scraper must drop
        paragraphs.insert(1, f'<aside class="ad-inline">{INLINE_AD}</aside>')
    reading = "\n".join(paragraphs)
    sign_links = " ".join(f'<a href="{s}.html">{s.capitalize()}</a>' for s in SIGNS)
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{title} horoscope for {_english_date(day)} | Starlight</title>
<link rel="stylesheet" href="../../static/site.css"></head>
<body>
<header class="site-header"><a class="logo" href="../../index.html">Starlight ★</a>
<nav class="menu"><a href="../../index.html">Daily</a> <a href="#">Love</a></nav>
</header>
<div class="ad ad-banner">Sponsored: crystal bundles 20% off this week</div>
<main>
<nav class="signs">{sign_links}</nav>
<article class="horoscope" data-sign="{entry.sign}">
<h1>{title}</h1>
<time datetime="{entry.day}">{_english_date(day)}</time>
<div class="reading">
{reading}
</div>
<footer class="share">Share: <a href="#">Facebook</a> <a href="#">X</a></footer>
</article>
<aside class="related"><h3>Also read</h3><a href="#">Your weekly love forecast</a></aside>
</main>
<footer class="site-footer">© 2026 Starlight Media. All rights reserved.</footer>
<script>window.dataLayer = window.dataLayer || [];</script>
</body>
</html>
"""


def starlight_index(days: list[str]) -> str:
    links = "\n".join(f'<li><a href="daily/{d}/{s}.html">{d} {s.capitalize()}</a></li>'
                      for d in days for s in SIGNS)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Starlight daily horoscopes</title></head>
<body><h1>Starlight daily horoscopes</h1><ul>
{links}
</ul></body></html>
"""


# ---- Zvezdy: Russian HTML, one page per day with all signs ----------------------------------

def _zvezdy_text(entry: Entry) -> str:
    """The site sets the opening sentence in bold."""
    if not entry.sentences:
        return " "
    first, rest = entry.sentences[0], " ".join(entry.sentences[1:])
    bold = f"<b>{html.escape(entry.prefix + first)}</b>"
    tail = html.escape(f"{rest}{entry.suffix}" if rest else entry.suffix.lstrip())
    return f"{bold} {tail}" if tail else bold


def zvezdy_page(day_entries: list[Entry], rng: random.Random) -> str:
    day = date.fromisoformat(day_entries[0].day)
    human = f"{day.day} {MONTHS_RU_GENITIVE[day.month - 1]} {day.year} года"
    sections = []
    for position, entry in enumerate(day_entries):
        name = SIGN_FACTS_RU[entry.sign][0]
        sections.append(
            f'<section data-znak="{name.lower()}"><h2>{name}</h2>\n'
            f'<div class="txt">{_zvezdy_text(entry)}</div>\n'
            f'<div class="likes">👍 {rng.randint(3, 250)}</div></section>'
        )
        if position == 5:  # a promo block between the signs, without a sign attribute
            sections.append('<section class="promo"><h2>Реклама</h2>'
                            '<div class="txt">Натальная карта за 99 ₽</div></section>')
    body = "\n".join(sections)
    return f"""<!doctype html>
<html lang="ru">
<head><meta charset="utf-8"><title>Гороскоп на {human} — Звёзды</title></head>
<body>
<div id="top-menu"><a href="../index.html">Главная</a> | <a href="#">Совместимость</a></div>
<div class="banner">Реклама: курс астрологии со скидкой</div>
<main class="goroskop">
<h1 class="day" data-date="{day.strftime('%d.%m.%Y')}">Гороскоп на {human}</h1>
{body}
</main>
<footer>© Звёзды, 2026. Перепечатка запрещена.</footer>
</body>
</html>
"""


def zvezdy_index(days: list[str]) -> str:
    links = "\n".join(f'<li><a href="goroskop/{d}.html">{d}</a></li>' for d in days)
    return f"""<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><title>Звёзды — гороскоп на каждый день</title></head>
<body><h1>Гороскоп на каждый день</h1><ul>
{links}
</ul></body></html>
"""


# ---- AstroAPI: English JSON, one document per day -------------------------------------------

def astroapi_document(day_entries: list[Entry], rng: random.Random) -> str:
    items = []
    for entry in day_entries:
        # the API sends null, not "", when it has no text
        text = entry.text if entry.sentences else None
        items.append({"zodiac": entry.sign.capitalize(), "period": "daily",
                      "forecast": {"text": text, "mood": rng.choice(MOODS),
                                   "lucky_number": rng.randint(1, 99)}})
    document = {"status": "ok", "meta": {"provider": "AstroAPI", "version": "1.3"},
                "data": {"date": day_entries[0].day, "items": items}}
    return json.dumps(document, ensure_ascii=False, indent=1) + "\n"


def _manifest(corpus: dict[str, list[Entry]], planted: list[dict], days: list[str],
              seed: int) -> str:
    """What was generated and every planted row, one row a line so that diffs stay readable."""
    header = {"generator": "scripts/make_horoscope_sites.py", "seed": seed, "dates": days,
              "signs": list(SIGNS), "sources": {name: len(rows) for name, rows in corpus.items()}}
    lines = [f" {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)},"
             for key, value in header.items()]
    rows = ",\n".join(f"  {json.dumps(row, ensure_ascii=False)}" for row in planted)
    return "{\n" + "\n".join(lines) + '\n "planted": [\n' + rows + "\n ]\n}\n"


def write_sites(corpus: dict[str, list[Entry]], planted: list[dict], days: list[str], seed: int,
                out: Path) -> int:
    """Write the three sites and the manifest under `out` (replaced); returns the bytes written."""
    if out.exists():
        shutil.rmtree(out)
    rng = random.Random(seed + 1)  # page noise (ads, likes) independent of the texts
    files: dict[str, str] = {"starlight/index.html": starlight_index(days),
                             "zvezdy/index.html": zvezdy_index(days)}
    for entry in corpus["starlight"]:
        files[f"starlight/daily/{entry.day}/{entry.sign}.html"] = starlight_page(entry, rng)
    for day in days:
        files[f"zvezdy/goroskop/{day}.html"] = zvezdy_page(
            [e for e in corpus["zvezdy"] if e.day == day], rng)
        files[f"astroapi/api/v1/horoscope/{day}.json"] = astroapi_document(
            [e for e in corpus["astroapi"] if e.day == day], rng)
    files["manifest.json"] = _manifest(corpus, planted, days, seed)
    for relative, content in files.items():
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8", newline="\n")
    return sum(len(content.encode("utf-8")) for content in files.values())


def day_range(first: str, count: int) -> list[str]:
    start = date.fromisoformat(first)
    return [(start + timedelta(days=offset)).isoformat() for offset in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="data/horoscope_sites")
    parser.add_argument("--first-day", default=DEFAULT_FIRST_DAY, help="YYYY-MM-DD")
    parser.add_argument("--days", type=int, default=DEFAULT_DAYS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args()
    days = day_range(args.first_day, args.days)
    corpus, planted = generate_corpus(days, args.seed)
    size = write_sites(corpus, planted, days, args.seed, Path(args.out))
    rows = sum(len(entries) for entries in corpus.values())
    print(f"{args.out}: {len(corpus)} sites, {rows} horoscopes, {len(planted)} planted rows,"
          f" {size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
