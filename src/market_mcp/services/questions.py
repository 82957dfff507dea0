"""Application questions: what a market asks, the answers an application gives, and the jury's scores.

A market's questions are a JSON list on the market (read whole, never queried). Each answer is a row of
`application_answer` (key, the question as asked, kind, value, value case-folded): lists filter by answer with plain
SQL on an index, the same on SQLite and PostgreSQL, where JSON functions differ (json_extract gives 1 for true,
->> gives 'true'). The answers live only there, so there is one copy to trust.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, func, or_

from market_mcp.auth import OrgContext
from market_mcp.db.tables import Application, ApplicationAnswer, ApplicationScore, Market
from market_mcp.db.types import utcnow
from market_mcp.errors import Invalid
from market_mcp.schemas.common import plural
from market_mcp.schemas.questions import (
    MAX_ANSWER_CHARS,
    MAX_NUMBER,
    JuryScore,
    Question,
    QuestionIn,
    QuestionsSet,
    VendorAnswer,
)
from market_mcp.schemas.text import check_text, fenced, one_line, quoted
from market_mcp.services.scope import get_or_404, like_pattern, scoped

YES = ("yes", "y", "true")
NO = ("no", "n", "false")
ACCEPTS = {
    "text": "text",
    "yes_no": 'true or false (or "yes" / "no")',
    "number": "a number",
}


def questions_of(market: Market) -> list[Question]:
    return [Question(**q) for q in market.application_questions or []]


def _accepts(question: Question) -> str:
    if question.kind == "choice":
        return "one of " + ", ".join(quoted(c) for c in question.choices)
    return ACCEPTS[question.kind]


def _summary(market: Market, questions: list[Question]) -> str:
    if not questions:
        return f"{one_line(market.name)} asks applicants no questions."
    required = sum(q.required for q in questions)
    keys = ", ".join(q.key for q in questions)
    return (
        f"{one_line(market.name)} asks applicants {plural(len(questions), 'question')} ({keys}), {required} required. "
        "create_application takes the answers as answers: {key: value}."
    )


async def set_application_questions(org: OrgContext, market_id: int, questions: list[QuestionIn]) -> QuestionsSet:
    market = await get_or_404(org, Market, market_id, for_update=True)
    problems = []
    seen: set[str] = set()
    for q in questions:
        if q.key in seen:
            problems.append(f"questions has the key {q.key} twice: give each question its own key.")
        seen.add(q.key)
        choices = q.choices or []
        if q.kind == "choice":
            if len(choices) < 2:
                problems.append(f"question {q.key} is a choice: give it at least two choices.")
            folded = [c.casefold() for c in choices]
            if len(set(folded)) < len(folded):
                problems.append(f"question {q.key} offers a choice twice: give each choice once.")
        elif choices:
            problems.append(f'question {q.key} is {q.kind}: choices go only with kind "choice"; leave them out.')
    if problems:
        raise Invalid(" ".join(dict.fromkeys(problems)))
    market.application_questions = [
        dict(key=q.key, text=q.text, kind=q.kind, choices=q.choices or [], required=q.required) for q in questions
    ] or None
    market.updated_at = utcnow()
    org.session.add(market)
    await org.session.flush()
    org.touch("market", market_id)
    listed = questions_of(market)
    return QuestionsSet(
        market_id=market_id, market_name=market.name, application_questions=listed, summary=_summary(market, listed)
    )


def _number(value: float) -> str:
    """A number as a person writes it: 3, 2.5 (never 3.0 or 1e+06)."""
    return str(int(value)) if value == int(value) else f"{value:.6f}".rstrip("0")


def _answer(question: Question, value: Any) -> str | None:
    """The answer as stored, or None when it does not fit the question."""
    if question.kind == "text":
        return value.strip() if isinstance(value, str) else None
    if question.kind == "yes_no":
        if isinstance(value, bool):
            return "yes" if value else "no"
        said = value.strip().casefold() if isinstance(value, str) else None
        return "yes" if said in YES else "no" if said in NO else None
    if question.kind == "number":
        if isinstance(value, str):
            try:
                value = float(value.strip().replace(",", ""))
            except ValueError:
                return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return _number(value) if math.isfinite(value) and abs(value) <= MAX_NUMBER else None
    if isinstance(value, str):  # choice: as the market spells it
        return next((c for c in question.choices if c.casefold() == value.strip().casefold()), None)
    return None


def check_answers(market: Market, answers: dict[str, Any]) -> list[dict[str, Any]]:
    """The answers as rows for application_answer, or a 422 naming every question key that is wrong and what it
    accepts."""
    questions = questions_of(market)
    by_key = {q.key: q for q in questions}
    if answers and not questions:
        raise Invalid(
            f"{one_line(market.name)} asks applicants no questions, so answers must be left out "
            "(set_application_questions adds questions)."
        )
    problems = []
    unknown = [key for key in answers if key not in by_key]
    if unknown:
        problems.append(
            f"answers has {', '.join(quoted(k) for k in unknown)}, not a question of {one_line(market.name)}; "
            f"its questions are {', '.join(by_key)} (get_market lists them)."
        )
    rows = []
    for position, question in enumerate(questions):
        value = answers.get(question.key)
        if isinstance(value, str) and question.kind == "text":
            try:
                check_text(value)
            except ValueError as e:
                problems.append(f"answers.{question.key} {e}.")
                continue
        stored = None if value is None else _answer(question, value)
        if value is not None and stored is None:
            problems.append(f"answers.{question.key} must be {_accepts(question)}; got {quoted(str(value)[:60])}.")
        elif not stored:
            if question.required:
                problems.append(
                    f"answers.{question.key} is required ({quoted(question.text)}): give {_accepts(question)}."
                )
        else:
            rows.append(
                dict(
                    position=position,
                    key=question.key,
                    question=question.text,
                    kind=question.kind,
                    value=stored[:MAX_ANSWER_CHARS],
                    folded=stored[:MAX_ANSWER_CHARS].casefold(),
                )
            )
    if problems:
        raise Invalid(" ".join(problems))
    return rows


async def store_answers(org: OrgContext, application_id: int, rows: list[dict[str, Any]]) -> None:
    if rows:
        org.session.add_all(
            ApplicationAnswer(organization_id=org.organization_id, application_id=application_id, **row) for row in rows
        )
        await org.session.flush()


def answer_filter(org: OrgContext, key: str, value: str | None) -> Any:
    """Applications whose answer to `key` matches `value` (any answer when None): equality for yes/no, numbers
    and choices, words contained for text; case never matters."""
    stmt = scoped(org, ApplicationAnswer, ApplicationAnswer.application_id).where(ApplicationAnswer.key == key)
    if value is not None and value.strip():
        said = value.strip().casefold()
        as_yes_no = "yes" if said in YES else "no" if said in NO else said
        try:
            as_number = _number(float(said.replace(",", "")))
        except ValueError:
            as_number = said
        stmt = stmt.where(
            or_(
                and_(ApplicationAnswer.kind == "yes_no", ApplicationAnswer.folded == as_yes_no),
                and_(ApplicationAnswer.kind == "number", ApplicationAnswer.folded == as_number),
                and_(ApplicationAnswer.kind == "choice", ApplicationAnswer.folded == said),
                and_(
                    ApplicationAnswer.kind == "text",
                    ApplicationAnswer.folded.like(like_pattern(said), escape="\\"),  # type: ignore[attr-defined]
                ),
            )
        )
    return Application.id.in_(stmt)  # type: ignore[union-attr]


def average_score(org: OrgContext) -> Any:
    """Each application's average score (null: not scored), read row by row through the score's index on
    application_id: a page or one application costs as many index lookups as it has rows."""
    return (
        scoped(org, ApplicationScore, func.avg(ApplicationScore.score))
        .where(ApplicationScore.application_id == Application.id)
        .correlate(Application)
        .scalar_subquery()
        .label("score")
    )


def by_score(score: Any) -> Any:
    """Highest first, unscored last (said outright: SQLite and PostgreSQL put nulls at opposite ends)."""
    return score.desc().nulls_last()


def rounded(score: Any) -> float | None:
    return None if score is None else round(float(score), 1)


async def answers_and_scores(
    org: OrgContext, application_ids: Sequence[int]
) -> tuple[dict[int, list[VendorAnswer]], dict[int, list[JuryScore]]]:
    """The answers (fenced: the vendor's words) and scores of these applications, in two queries."""
    answers: dict[int, list[VendorAnswer]] = defaultdict(list)
    scores: dict[int, list[JuryScore]] = defaultdict(list)
    if not application_ids:
        return answers, scores
    ids = list(application_ids)
    found = await org.session.execute(
        scoped(org, ApplicationAnswer)
        .where(ApplicationAnswer.application_id.in_(ids))  # type: ignore[attr-defined]
        .order_by(ApplicationAnswer.application_id, ApplicationAnswer.position)
    )
    for a in found.scalars():
        answers[a.application_id].append(
            VendorAnswer(key=a.key, question=a.question, kind=a.kind, vendor_answer=fenced(a.value))  # type: ignore[arg-type]
        )
    scored = await org.session.execute(
        scoped(org, ApplicationScore)
        .where(ApplicationScore.application_id.in_(ids))  # type: ignore[attr-defined]
        .order_by(ApplicationScore.application_id, ApplicationScore.scored_at, ApplicationScore.id)
    )
    for s in scored.scalars():
        scores[s.application_id].append(JuryScore(author=s.author, score=s.score, note=s.note, scored_at=s.scored_at))
    return answers, scores


async def score_application(org: OrgContext, application_id: int, *, score: int, note: str) -> None:
    """Record the calling token's score and note; its earlier score of this application, if any, is replaced."""
    await get_or_404(org, Application, application_id, for_update=True)
    mine = (
        await org.session.execute(
            scoped(org, ApplicationScore).where(
                ApplicationScore.application_id == application_id, ApplicationScore.author == org.token_name[:100]
            )
        )
    ).scalar_one_or_none()
    if mine is None:
        mine = ApplicationScore(
            organization_id=org.organization_id,
            application_id=application_id,
            author=org.token_name[:100],
            score=score,
        )
    mine.score, mine.note, mine.scored_at = score, note.strip(), utcnow()
    org.session.add(mine)
    await org.session.flush()
    org.touch("application", application_id)
    org.touch("application_score", mine.id)  # type: ignore[arg-type]
