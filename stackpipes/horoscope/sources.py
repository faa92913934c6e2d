"""Horoscope source specs: one YAML file per site, validated with every error naming file and key.

Each source is described by a YAML file (`configs/horoscope/sources/*.yaml`): where its pages are
(`url` with `{base_url}`, `{date}` and `{sign}` placeholders), what kind of page it serves
(`html_per_sign`, `html_per_day`, `json_per_sign`, `json_per_day`), and where the horoscope
blocks, their text, sign and date sit (CSS selectors for HTML, dotted paths for JSON), plus how
politely and how persistently it is fetched (`http`).
"""

from __future__ import annotations

import string
import typing
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, Optional, Union

import soupsieve
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from stackpipes.core.fetching import HttpSpec
from stackpipes.horoscope.schema import SIGNS, SIGNS_RU
from stackpipes.platform.env import PROJECT_ROOT

SOURCES_DIR = PROJECT_ROOT / "configs" / "horoscope" / "sources"
# How a source labels signs, lower-cased, mapped to the schema's English names.
SIGN_NAMES: dict[str, dict[str, str]] = {"en": {sign: sign for sign in SIGNS}, "ru": SIGNS_RU}
URL_PLACEHOLDERS = ("base_url", "date", "sign")
# A date whose day, month and year differ, to check that a format round-trips all three.
_PROBE_DAY = date(2026, 12, 31)


class SourceSpecError(ValueError):
    """A source file that cannot be used: names the file, the key and what was expected."""

    def __init__(self, origin: Union[str, Path], key: str, expected: str):
        self.origin, self.key, self.expected = str(origin), key, expected
        super().__init__(f"{origin}: {key}: {expected}")


class _KeyProblem(ValueError):
    """Raised inside validators to name the offending key below the validated object."""

    def __init__(self, key: str, expected: str):
        self.key, self.expected = key, expected
        super().__init__(expected)


# ---- source specs ----------------------------------------------------------------------------


def _check_date_format(fmt: str) -> str:
    try:
        round_trip = datetime.strptime(_PROBE_DAY.strftime(fmt), fmt).date()
    except ValueError:
        round_trip = None
    if round_trip != _PROBE_DAY:
        raise ValueError(
            f"a strftime format that writes year, month and day (e.g. %Y-%m-%d), got {fmt!r}"
        )
    return fmt


def _check_css(selector: str) -> str:
    try:
        soupsieve.compile(selector)
    except soupsieve.SelectorSyntaxError as exc:
        raise ValueError(
            f"a valid CSS selector, got {selector!r} ({str(exc).splitlines()[0]})"
        ) from None
    return selector


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Locator(_Strict):
    """Where one value sits: a CSS selector (HTML) or a dotted path (JSON), in the item or the page.

    An empty `path` means the item (or page) itself; `attribute` (HTML only) reads an attribute
    instead of the rendered text.
    """

    path: str = ""
    attribute: Optional[str] = Field(default=None, min_length=1)
    scope: Literal["item", "page"] = "item"


class SignLocator(Locator):
    names: Literal["en", "ru"] = "en"  # the language the source names signs in


class DateLocator(Locator):
    format: str = "%Y-%m-%d"

    @field_validator("format")
    @classmethod
    def _date_format(cls, value: str) -> str:
        return _check_date_format(value)


class ExtractSpec(_Strict):
    """Where the horoscopes are on a page."""

    # the horoscope blocks: a CSS selector (HTML), or a dotted path to a list or object (JSON;
    # "" is the whole document)
    items: str
    drop: list[str] = Field(default_factory=list, max_length=100)  # HTML noise removed from each item first
    text: Locator
    sign: Optional[SignLocator] = None  # optional on per-sign pages: the requested sign is used
    date: Optional[DateLocator] = None  # optional: the requested date is used


class SourceSpec(_Strict):
    """One horoscope source, as described by its YAML file."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    description: str = ""
    language: str = Field(pattern=r"^[a-z]{2}$")  # ISO 639-1
    kind: Literal["html_per_sign", "html_per_day", "json_per_sign", "json_per_day"]
    base_url: str = Field(pattern=r"^https?://[^\s/]+(/\S*)?$")
    url: str
    url_date_format: str = "%Y-%m-%d"
    extract: ExtractSpec
    http: HttpSpec = Field(default_factory=HttpSpec)
    _origin: str = PrivateAttr(default="<code>")  # the file it came from, for messages

    @property
    def origin(self) -> str:
        return self._origin

    @field_validator("url_date_format")
    @classmethod
    def _date_format(cls, value: str) -> str:
        return _check_date_format(value)

    @field_validator("base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("url")
    @classmethod
    def _known_placeholders(cls, url: str) -> str:
        try:
            fields = [
                (name, spec, conv)
                for _, name, spec, conv in string.Formatter().parse(url)
                if name is not None
            ]
        except ValueError as exc:
            raise ValueError(f"a URL pattern with {{placeholders}}, got {url!r} ({exc})") from None
        unknown = sorted(
            {name for name, spec, conv in fields if name not in URL_PLACEHOLDERS or spec or conv}
        )
        if unknown:
            raise ValueError(
                f"placeholders among {{{'}, {'.join(URL_PLACEHOLDERS)}}}, got {unknown} in {url!r}"
            )
        if not url.startswith("{base_url}"):
            raise ValueError(
                f"a pattern starting with {{base_url}} (callers move the host), got {url!r}"
            )
        if "{date}" not in url:
            raise ValueError(f"a pattern with {{date}} (pages are daily), got {url!r}")
        return url

    @model_validator(mode="after")
    def _consistent(self) -> SourceSpec:
        if self.per_sign != ("{sign}" in self.url):
            need = "needs" if self.per_sign else "must not have"
            raise _KeyProblem(
                "url", f"a {self.kind} source {need} a {{sign}} placeholder, got {self.url!r}"
            )
        if not self.per_sign and self.extract.sign is None:
            raise _KeyProblem(
                "extract.sign", f"required for {self.kind}: a page holds several signs"
            )
        locators = {"text": self.extract.text, "sign": self.extract.sign, "date": self.extract.date}
        if self.is_html:
            _check_html_selectors(self.extract, locators)
        else:
            _check_json_paths(self.extract, locators)
        return self

    @property
    def per_sign(self) -> bool:
        return self.kind.endswith("_per_sign")

    @property
    def is_html(self) -> bool:
        return self.kind.startswith("html_")

    def page_url(self, base_url: str, day: date, sign: Optional[str] = None) -> str:
        return self.url.format(
            base_url=base_url.rstrip("/"), date=day.strftime(self.url_date_format), sign=sign or ""
        )

    def with_http(self, **changes: Any) -> SourceSpec:
        """A copy with some HTTP settings changed (validated like the file), e.g. `delay_s=0`."""
        data = self.model_dump()
        data["http"] = {**data["http"], **changes}
        return _validated(data, self.origin)


def _check_html_selectors(extract: ExtractSpec, locators: Mapping[str, Optional[Locator]]) -> None:
    for key, selector in [("items", extract.items)] + [
        (f"drop[{i}]", s) for i, s in enumerate(extract.drop)
    ]:
        try:
            _check_css(selector)
        except ValueError as exc:
            raise _KeyProblem(f"extract.{key}", str(exc)) from None
    for key, locator in locators.items():
        if locator is not None and locator.path:
            try:
                _check_css(locator.path)
            except ValueError as exc:
                raise _KeyProblem(f"extract.{key}.path", str(exc)) from None


def _check_json_paths(extract: ExtractSpec, locators: Mapping[str, Optional[Locator]]) -> None:
    if extract.drop:
        raise _KeyProblem("extract.drop", "only for HTML sources; leave it out for JSON")
    paths = {"items": extract.items} | {
        f"{k}.path": v.path for k, v in locators.items() if v is not None
    }
    for key, path in paths.items():
        if path and not all(path.split(".")):
            raise _KeyProblem(f"extract.{key}", f"a dotted JSON path like data.items, got {path!r}")
    for key, locator in locators.items():
        if locator is not None and locator.attribute is not None:
            raise _KeyProblem(
                f"extract.{key}.attribute", "only for HTML sources; JSON values are read at path"
            )


def _allowed_keys(location: Sequence[str]) -> list[str]:
    """The keys a mapping at `location` in a source file may hold (for unknown-key messages)."""
    model: Optional[type[BaseModel]] = SourceSpec
    for part in location:
        spec_field = model.model_fields.get(part) if model else None
        if spec_field is None:
            return []
        candidates = [spec_field.annotation, *typing.get_args(spec_field.annotation)]
        model = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None
        )
    return sorted(model.model_fields) if model else []


def _spec_error(origin: str, exc: ValidationError) -> SourceSpecError:
    errors = exc.errors()
    first = errors[0]
    location = [str(part) for part in first["loc"]]
    problem = (first.get("ctx") or {}).get("error")
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    if isinstance(problem, _KeyProblem):
        return SourceSpecError(origin, ".".join(location + [problem.key]), problem.expected + more)
    key = ".".join(location) or "<file>"
    if first["type"] == "extra_forbidden":
        expected = f"unknown key; expected one of {_allowed_keys(location[:-1])}"
    elif first["type"] == "missing":
        expected = "required key is missing"
    elif isinstance(problem, ValueError):
        expected = str(problem)
    else:
        expected = f"{first['msg']}, got {first.get('input')!r}"
    return SourceSpecError(origin, key, expected + more)


def _validated(data: Any, origin: str) -> SourceSpec:
    if not isinstance(data, dict):
        raise SourceSpecError(
            origin, "<file>", f"a mapping of source settings, got {type(data).__name__}"
        )
    try:
        spec = SourceSpec.model_validate(data)
    except ValidationError as exc:
        raise _spec_error(origin, exc) from None
    spec._origin = origin
    return spec


def load_source(path: Union[str, Path]) -> SourceSpec:
    """One source spec from a YAML file; every key is checked."""
    path = Path(path)
    if not path.is_file():
        raise SourceSpecError(path, "<file>", "an existing YAML file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SourceSpecError(path, "<file>", f"valid YAML ({str(exc).splitlines()[0]})") from None
    return _validated(data, str(path))


def load_sources(
    paths_or_dir: Union[str, Path, Iterable[Union[str, Path]]] = SOURCES_DIR,
) -> list[SourceSpec]:
    """Source specs from a folder of `*.yaml` files (sorted) or from a list of files."""
    if isinstance(paths_or_dir, (str, Path)) and Path(paths_or_dir).is_dir():
        paths = sorted(Path(paths_or_dir).glob("*.yaml")) + sorted(Path(paths_or_dir).glob("*.yml"))
        if not paths:
            raise SourceSpecError(
                paths_or_dir, "<folder>", "at least one source YAML file (*.yaml)"
            )
    elif isinstance(paths_or_dir, (str, Path)):
        paths = [Path(paths_or_dir)]
    else:
        paths = [Path(p) for p in paths_or_dir]
    specs = [load_source(path) for path in paths]
    unique_names(specs)
    return specs


def unique_names(specs: Sequence[SourceSpec]) -> None:
    seen: dict[str, str] = {}
    for spec in specs:
        if spec.name in seen:
            raise SourceSpecError(
                spec.origin,
                "name",
                f"a name no other source uses; {spec.name!r} is also in {seen[spec.name]}",
            )
        seen[spec.name] = spec.origin
