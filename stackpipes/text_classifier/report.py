"""`ClassifierTest`: what the test split says about a classifier, next to the TF-IDF baseline and
production on the same rows; rendered in the dashboard as one page."""

from __future__ import annotations

from typing import Any, Optional

from pydantic import BaseModel, Field


class ClassifierTest(BaseModel):
    dataset: str
    route: str
    rows: int
    accuracy: Optional[float] = None
    macro_f1: Optional[float] = None
    baseline_accuracy: Optional[float] = None
    baseline_macro_f1: Optional[float] = None
    production_accuracy: Optional[float] = None
    production_macro_f1: Optional[float] = None
    per_class: list[dict[str, Any]] = Field(default_factory=list)  # worst F1 first
    confused: list[dict[str, Any]] = Field(default_factory=list)  # (true, predicted, count), most first
    confusion_png: str = ""  # base64 PNG of the most confused classes
    unreadable_share: Optional[float] = None
    warnings: list[str] = Field(default_factory=list)
    note: str = ""

    def to_html(self) -> str:
        from stackpipes.core import views

        def score(value: Optional[float]) -> str:
            return "n/a" if value is None else f"{value:.4f}"

        if self.accuracy is None:
            return views.page(f"Test of {self.dataset}", f"<p>{views.esc(self.note or 'no model was trained')}</p>")
        body = [f"<h3>{views.esc(self.route)} classifier on {views.esc(self.dataset)}: {self.rows} test rows</h3>"]
        body += [f"<p style='color:#a15c00'>warning: {views.esc(w)}</p>" for w in self.warnings]
        body.append(views.table(["", "accuracy", "macro-F1"], [
            ("this model", score(self.accuracy), score(self.macro_f1)),
            ("TF-IDF baseline", score(self.baseline_accuracy), score(self.baseline_macro_f1)),
            ("production", score(self.production_accuracy), score(self.production_macro_f1)),
        ]))
        if self.confusion_png:
            body.append(f"<img alt='confusion matrix' src='data:image/png;base64,{self.confusion_png}'>")
        if self.confused:
            body.append("<h4>Most confused pairs</h4>" + views.table(
                ["true", "predicted", "count"], [(c["true"], c["predicted"], c["count"]) for c in self.confused]))
        if self.per_class:
            body.append("<h4>Per class (worst F1 first)</h4>" + views.table(
                ["class", "precision", "recall", "F1", "test rows"],
                [(r["label"], f"{r['precision']:.3f}", f"{r['recall']:.3f}", f"{r['f1']:.3f}", r["support"])
                 for r in self.per_class]))
        return views.page(f"Test of {self.dataset}", "\n".join(body))
